/* kiln-pipeline.c — run the recorded steps of an experiment, skipping unchanged steps
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-pipeline.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "kiln-align.h"
#include "kiln-bm3d.h"
#include "kiln-csv.h"
#include "kiln-error.h"
#include "kiln-imod.h"
#include "kiln-io.h"
#include "kiln-label.h"
#include "kiln-measure.h"
#include "kiln-mrc.h"
#include "kiln-reconstruct.h"
#include "kiln-segment.h"
#include "kiln-tilt-axis.h"

static const char *const step_names[KILN_N_STEPS] = {
  "denoise", "align", "axis", "reconstruct", "segment", "measure",
};

const char *
kiln_step_to_string (KilnStep step)
{
  return step < KILN_N_STEPS ? step_names[step] : "unknown";
}

gboolean
kiln_step_from_string (const char *name,
                       KilnStep   *step)
{
  for (guint i = 0; i < KILN_N_STEPS; i++)
    if (g_strcmp0 (name, step_names[i]) == 0)
      {
        *step = (KilnStep) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
kiln_steps_parse (const char *list,
                  guint      *mask,
                  GError    **error)
{
  g_auto(GStrv) parts = g_strsplit (list, ",", -1);
  guint m = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      KilnStep s;
      g_strstrip (parts[i]);
      if (!kiln_step_from_string (parts[i], &s))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "unknown step “%s” (expected denoise, align, axis, reconstruct, segment, "
                       "measure)", parts[i]);
          return FALSE;
        }
      m |= 1u << s;
    }
  if (m == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "no step given");
      return FALSE;
    }
  *mask = m;
  return TRUE;
}

/* ---------------------------------------------------------------- parameters */

JsonObject *
kiln_pipeline_step_defaults (KilnStep step)
{
  JsonObject *o = json_object_new ();

  switch (step)
    {
    case KILN_STEP_DENOISE:
      json_object_set_string_member (o, "psd", "g4");
      json_object_set_null_member (o, "variance");
      json_object_set_double_member (o, "variance_0_255", 137);
      json_object_set_string_member (o, "profile", "normal");
      break;
    case KILN_STEP_ALIGN:
      json_object_set_string_member (o, "method", "mi");
      json_object_set_string_member (o, "interpolation", "cubic");
      json_object_set_double_member (o, "axis_angle_deg", 0);
      break;
    case KILN_STEP_AXIS:
      json_object_set_null_member (o, "axis_angle_deg");
      json_object_set_null_member (o, "axis_shift_px");
      json_object_set_boolean_member (o, "refine_angle", TRUE);
      json_object_set_int_member (o, "n_slices", 7);
      json_object_set_double_member (o, "max_shift_px", 0);
      json_object_set_string_member (o, "score", "sharpness");
      break;
    case KILN_STEP_RECONSTRUCT:
      json_object_set_string_member (o, "method", "iser");
      json_object_set_int_member (o, "iterations", 300);
      json_object_set_int_member (o, "data_passes", 1);
      json_object_set_int_member (o, "tv_steps", 1);
      json_object_set_double_member (o, "sensitivity", 1);
      json_object_set_double_member (o, "relaxation", 1);
      json_object_set_int_member (o, "subsets", 0);
      json_object_set_boolean_member (o, "nonneg", TRUE);
      json_object_set_string_member (o, "filter", "ramp");
      json_object_set_int_member (o, "thickness_px", 0);
      break;
    case KILN_STEP_SEGMENT:
      json_object_set_boolean_member (o, "otsu", TRUE);
      json_object_set_double_member (o, "threshold", 0);
      json_object_set_int_member (o, "erode_voxels", 0);
      json_object_set_int_member (o, "dilate_voxels", 0);
      json_object_set_int_member (o, "connectivity", 26);
      json_object_set_int_member (o, "min_voxels", 27);
      json_object_set_boolean_member (o, "split", TRUE);
      json_object_set_double_member (o, "split_h_voxels", 2);
      break;
    case KILN_STEP_MEASURE:
      json_object_set_string_member (o, "error_bars", "none");
      break;
    case KILN_N_STEPS:
    default:
      break;
    }
  return o;
}

static gboolean
is_number (JsonNode *n)
{
  if (!JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  GType t = json_node_get_value_type (n);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

/* The effective parameters of @step from @rec (experiment.json's "steps".STEP, or what the app
 * recorded when it computed a result). */
static JsonObject *
effective_params (const KilnExperiment *experiment,
                  KilnStep              step,
                  JsonObject           *rec,
                  GError              **error)
{
  g_autoptr(JsonObject) p = kiln_pipeline_step_defaults (step);
  g_autofree char *src = experiment->dir != NULL
    ? g_build_filename (experiment->dir, "experiment.json", NULL) : g_strdup ("experiment.json");

  if (rec == NULL)
    return g_steal_pointer (&p);

  g_autoptr(GList) members = json_object_get_members (rec);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *v = json_object_get_member (rec, key);
      if (g_str_equal (key, "results"))
        continue;
      if (step == KILN_STEP_ALIGN && g_str_equal (key, "fixes"))
        {
          /* the app's hand fixes of single tilts: part of the hash (the app's aligned stack
           * depends on them) but not applied by the pipeline (run.log says so) */
          if (!JSON_NODE_HOLDS_ARRAY (v))
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                           "%s: steps.align.fixes must be an array", src);
              return NULL;
            }
          if (json_array_get_length (json_node_get_array (v)) > 0)
            json_object_set_member (p, key, json_node_copy (v));
          continue;
        }
      if (!json_object_has_member (p, key))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "%s: steps.%s: unknown parameter “%s” (see docs/pipeline.md)", src,
                       kiln_step_to_string (step), key);
          return NULL;
        }
      JsonNode *d = json_object_get_member (p, key);
      gboolean ok;
      if (JSON_NODE_HOLDS_NULL (d))
        ok = JSON_NODE_HOLDS_NULL (v) || is_number (v);
      else if (is_number (d))
        ok = is_number (v) && isfinite (json_node_get_double (v));
      else
        ok = JSON_NODE_HOLDS_VALUE (v)
          && json_node_get_value_type (v) == json_node_get_value_type (d);
      if (ok && is_number (d) && json_node_get_value_type (d) == G_TYPE_INT64)
        {
          double x = json_node_get_double (v);
          ok = x >= 0 && x == floor (x) && x < 1e9;
        }
      if (!ok)
        {
          const char *want = JSON_NODE_HOLDS_NULL (d) ? "a number or null"
            : is_number (d) ? (json_node_get_value_type (d) == G_TYPE_INT64
                               ? "a non-negative integer" : "a finite number")
            : json_node_get_value_type (d) == G_TYPE_BOOLEAN ? "true or false" : "a string";
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "%s: steps.%s.%s must be %s", src, kiln_step_to_string (step), key,
                       want);
          return NULL;
        }
      if (is_number (d) && json_node_get_value_type (d) == G_TYPE_INT64)
        json_object_set_int_member (p, key, (gint64) json_node_get_double (v));
      else
        json_object_set_member (p, key, json_node_copy (v));
    }
  return g_steal_pointer (&p);
}

JsonObject *
kiln_pipeline_step_params (const KilnExperiment *experiment,
                           KilnStep              step,
                           GError              **error)
{
  JsonObject *rec = kiln_experiment_get_step (experiment, kiln_step_to_string (step));

  if (rec == NULL && json_object_has_member (experiment->steps, kiln_step_to_string (step)))
    {
      g_autofree char *src = experiment->dir != NULL
        ? g_build_filename (experiment->dir, "experiment.json", NULL) : g_strdup ("experiment.json");
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s: steps.%s must be an object", src, kiln_step_to_string (step));
      return NULL;
    }
  return effective_params (experiment, step, rec, error);
}

static void
canonical_append (GString  *s,
                  JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      g_string_append (s, "null");
      return;
    }
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      GList *keys = g_list_sort (json_object_get_members (o), (GCompareFunc) strcmp);
      g_string_append_c (s, '{');
      for (GList *l = keys; l != NULL; l = l->next)
        {
          g_autofree char *k = NULL;
          g_autoptr(JsonNode) kn = json_node_init_string (json_node_alloc (), l->data);
          k = json_to_string (kn, FALSE);
          if (l != keys)
            g_string_append_c (s, ',');
          g_string_append_printf (s, "%s:", k);
          canonical_append (s, json_object_get_member (o, l->data));
        }
      g_string_append_c (s, '}');
      g_list_free (keys);
      return;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      g_string_append_c (s, '[');
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          if (i > 0)
            g_string_append_c (s, ',');
          canonical_append (s, json_array_get_element (a, i));
        }
      g_string_append_c (s, ']');
      return;
    }
  if (is_number (node))
    {
      /* 1 and 1.0 hash alike */
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (buf, sizeof buf, "%.17g", json_node_get_double (node));
      g_string_append (s, buf);
      return;
    }
  g_autofree char *t = json_to_string (node, FALSE);
  g_string_append (s, t);
}

char *
kiln_pipeline_canonical_json (JsonNode *node)
{
  GString *s = g_string_new (NULL);
  canonical_append (s, node);
  return g_string_free (s, FALSE);
}

static double
p_double (JsonObject *p, const char *key)
{
  JsonNode *n = json_object_get_member (p, key);
  return n == NULL || JSON_NODE_HOLDS_NULL (n) ? NAN : json_node_get_double (n);
}

static guint
p_uint (JsonObject *p, const char *key)
{
  return (guint) json_object_get_int_member (p, key);
}

/* ---------------------------------------------------------------- files and hashes */

static char *
sha256_file (const char *path,
             GError    **error)
{
  FILE *f = g_fopen (path, "rb");
  if (f == NULL)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  guchar *buf = g_malloc (1 << 20);
  size_t n;
  while ((n = fread (buf, 1, 1 << 20, f)) > 0)
    g_checksum_update (c, buf, n);
  gboolean bad = ferror (f);
  fclose (f);
  g_free (buf);
  if (bad)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: read error", path);
      return NULL;
    }
  return g_strdup (g_checksum_get_string (c));
}

typedef struct
{
  const KilnExperiment          *experiment;
  const KilnExperimentTimePoint *tp;
  char                          *tp_dir;   /* absolute */
  GCancellable                  *cancellable;
  KilnProgressFunc               progress;
  gpointer                       progress_data;
  double                         base, span;
  FILE                          *log;
} RunCtx;

static void log_line (RunCtx *ctx, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Relative path of an output of the time point. */
static char *
out_rel (RunCtx *ctx, const char *name)
{
  return g_strdup_printf ("%s/%s", ctx->tp->name, name);
}

static char *
abs_path (RunCtx *ctx, const char *rel)
{
  return kiln_experiment_path (ctx->experiment, rel);
}

static void
step_progress (double fraction, const char *message, gpointer data)
{
  RunCtx *ctx = data;
  if (ctx->progress != NULL)
    ctx->progress (ctx->base + ctx->span * CLAMP (fraction, 0, 1), message, ctx->progress_data);
}

static KilnImageStack *
load_series (RunCtx *ctx, const char *rel, GError **error)
{
  g_autofree char *path = abs_path (ctx, rel);
  g_autoptr(KilnImageStack) s = kiln_io_load_stack (path, ctx->cancellable, error);
  if (s == NULL)
    return NULL;
  if (ctx->tp->angles != NULL)
    {
      guint n = 0;
      g_autofree char *ap = abs_path (ctx, ctx->tp->angles);
      g_autofree double *a = kiln_tlt_load (ap, &n, error);
      if (a == NULL || !kiln_image_stack_set_angles (s, a, n, error))
        {
          if (error != NULL && *error != NULL && strstr ((*error)->message, ap) == NULL)
            g_prefix_error (error, "%s: ", ap);
          return NULL;
        }
    }
  if (s->pixel_size_nm <= 0)
    s->pixel_size_nm = ctx->experiment->pixel_size_nm;
  return g_steal_pointer (&s);
}

/* ---------------------------------------------------------------- the steps */

static gboolean
run_denoise (RunCtx *ctx, JsonObject *p, JsonObject *details, GError **error)
{
  KilnNoiseKind kind;
  KilnBm3dProfile profile;
  const char *psd = json_object_get_string_member (p, "psd");
  const char *prof = json_object_get_string_member (p, "profile");

  if (!kiln_noise_kind_from_string (psd, &kind))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.denoise.psd: unknown noise model “%s”", psd);
      return FALSE;
    }
  if (!kiln_bm3d_profile_from_string (prof, &profile))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.denoise.profile: unknown profile “%s” (fast or normal)", prof);
      return FALSE;
    }
  g_autoptr(KilnImageStack) in = load_series (ctx, ctx->tp->tilts, error);
  if (in == NULL)
    return FALSE;
  double variance = p_double (p, "variance");
  if (isnan (variance))
    {
      KilnStats st;
      kiln_image_stack_stats (in, &st);
      double range = st.max - st.min;
      variance = p_double (p, "variance_0_255") * (range / 255.0) * (range / 255.0);
    }
  if (!(variance > 0) || !isfinite (variance))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.denoise: the noise variance must be > 0 (got %g)", variance);
      return FALSE;
    }
  g_autoptr(KilnBm3dNoise) noise = kiln_bm3d_noise_new_model (kind, in->width, in->height,
                                                               variance, error);
  if (noise == NULL)
    return FALSE;
  KilnBm3dParams bp;
  kiln_bm3d_params_init (&bp, profile);
  g_autoptr(KilnImageStack) out = kiln_bm3d_denoise_stack (in, noise, &bp, ctx->cancellable,
                                                           step_progress, ctx, error);
  if (out == NULL)
    return FALSE;
  g_autofree char *rel = out_rel (ctx, "denoised.mrc");
  g_autofree char *path = abs_path (ctx, rel);
  if (!kiln_mrc_save_stack (out, path, "kiln denoise (BM3D)", error))
    return FALSE;
  json_object_set_double_member (details, "variance_used", variance);
  return TRUE;
}

static gboolean
run_align (RunCtx *ctx, JsonObject *p, JsonObject *details, GError **error)
{
  KilnAlignParams ap;
  KilnInterp interp;
  const char *method = json_object_get_string_member (p, "method");
  const char *in_name = json_object_get_string_member (p, "interpolation");

  kiln_align_params_init (&ap);
  ap.xcorr.axis_angle_deg = json_object_get_double_member (p, "axis_angle_deg");
  if (!kiln_align_method_from_string (method, &ap.method))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.align.method: unknown method “%s” (xcorr, mi or com)", method);
      return FALSE;
    }
  if (g_str_equal (in_name, "nearest"))
    interp = KILN_INTERP_NEAREST;
  else if (g_str_equal (in_name, "linear"))
    interp = KILN_INTERP_LINEAR;
  else if (g_str_equal (in_name, "cubic"))
    interp = KILN_INTERP_CUBIC;
  else
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.align.interpolation: unknown “%s” (nearest, linear or cubic)",
                   in_name);
      return FALSE;
    }
  if (json_object_has_member (p, "fixes"))
    log_line (ctx, "align: the %u hand fixes of single tilts recorded by the app (steps.align.fixes) "
              "are not applied by kiln-cli run: this alignment is the automatic one and differs "
              "from the app's", json_array_get_length (json_object_get_array_member (p, "fixes")));
  g_autofree char *in_rel = out_rel (ctx, "denoised.mrc");
  g_autoptr(KilnImageStack) in = load_series (ctx, in_rel, error);
  if (in == NULL)
    return FALSE;
  ctx->span /= 2;
  KilnAlignResult *r = kiln_align_series (in, &ap, NULL, ctx->cancellable, step_progress, ctx,
                                          error);
  if (r == NULL)
    return FALSE;
  ctx->base += ctx->span;
  g_autoptr(KilnImageStack) out = kiln_align_apply (in, r->xf, interp, NULL, ctx->cancellable,
                                                    step_progress, ctx, error);
  if (out == NULL)
    {
      kiln_align_result_free (r);
      return FALSE;
    }
  g_autofree char *rel = out_rel (ctx, "aligned.mrc");
  g_autofree char *path = abs_path (ctx, rel);
  g_autofree char *xrel = out_rel (ctx, "align.xf");
  g_autofree char *xpath = abs_path (ctx, xrel);
  gboolean ok = kiln_xf_save (xpath, r->xf, r->n_tilts, error)
    && kiln_mrc_save_stack (out, path, "kiln align", error);
  json_object_set_int_member (details, "reference_tilt", r->reference);
  kiln_align_result_free (r);
  return ok;
}

/* TRUE when tpNN/axis.json holds an axis set in the app ("source": "manual") with finite
 * numbers. */
static gboolean
read_manual_axis (RunCtx *ctx, double *angle, double *shift)
{
  g_autofree char *rel = out_rel (ctx, "axis.json");
  g_autofree char *path = abs_path (ctx, rel);
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || !json_parser_load_from_file (parser, path, NULL))
    return FALSE;
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root)
    : NULL;
  if (o == NULL || g_strcmp0 (json_object_get_string_member_with_default (o, "source", ""),
                              "manual") != 0)
    return FALSE;
  JsonNode *a = json_object_get_member (o, "axis_angle_deg");
  JsonNode *s = json_object_get_member (o, "axis_shift_px");
  if (a == NULL || s == NULL || !is_number (a) || !is_number (s)
      || !isfinite (json_node_get_double (a)) || !isfinite (json_node_get_double (s)))
    return FALSE;
  *angle = json_node_get_double (a);
  *shift = json_node_get_double (s);
  return TRUE;
}

static gboolean
run_axis (RunCtx *ctx, JsonObject *p, JsonObject *details, GError **error)
{
  KilnTiltAxisParams tp;
  const char *score = json_object_get_string_member (p, "score");

  kiln_tilt_axis_params_init (&tp);
  tp.axis_angle_deg = p_double (p, "axis_angle_deg");
  tp.refine_angle = json_object_get_boolean_member (p, "refine_angle");
  tp.n_slices = p_uint (p, "n_slices");
  tp.max_shift_px = p_double (p, "max_shift_px");
  if (!kiln_axis_score_from_string (score, &tp.score))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.axis.score: unknown score “%s”", score);
      return FALSE;
    }
  if (isnan (tp.axis_angle_deg) && !tp.refine_angle)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.axis: refine_angle false needs axis_angle_deg");
      return FALSE;
    }
  double fixed_shift = p_double (p, "axis_shift_px");
  if (!isnan (fixed_shift) && (isnan (tp.axis_angle_deg) || tp.refine_angle))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.axis: a fixed axis_shift_px needs axis_angle_deg and refine_angle "
                   "false");
      return FALSE;
    }
  double angle, shift, confidence = NAN;
  const char *source = isnan (fixed_shift) ? "search" : "parameters";
  if (read_manual_axis (ctx, &angle, &shift))
    {
      /* set in the app (by hand or an accepted suggestion): kept as it is, never searched
       * again nor overwritten (docs/pipeline.md) */
      log_line (ctx, "axis: keeping the axis set in the app (tpNN/axis.json \"source\": \"manual\": "
                "%.6g°, %.6g px); clear it in the app or delete axis.json to search again", angle, shift);
      json_object_set_double_member (details, "axis_angle_deg", angle);
      json_object_set_double_member (details, "axis_shift_px", shift);
      json_object_set_boolean_member (details, "searched", FALSE);
      json_object_set_string_member (details, "source", "manual");
      step_progress (1, "tilt axis set in the app", ctx);
      return TRUE;
    }
  if (!isnan (fixed_shift))
    {
      /* the axis as given (e.g. set by hand in the app): no search */
      angle = tp.axis_angle_deg;
      shift = fixed_shift;
      step_progress (1, "tilt axis as given", ctx);
    }
  else
    {
      g_autofree char *in_rel = out_rel (ctx, "aligned.mrc");
      g_autoptr(KilnImageStack) in = load_series (ctx, in_rel, error);
      if (in == NULL)
        return FALSE;
      g_autoptr(KilnTiltAxisResult) r = kiln_tilt_axis_find (in, &tp, ctx->cancellable,
                                                              step_progress, ctx, error);
      if (r == NULL)
        return FALSE;
      angle = r->axis_angle_deg;
      shift = r->axis_shift_px;
      confidence = r->confidence;
    }
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "axis_angle_deg");
  json_builder_add_double_value (b, angle);
  json_builder_set_member_name (b, "axis_shift_px");
  json_builder_add_double_value (b, shift);
  json_builder_set_member_name (b, "confidence");
  if (isnan (confidence))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, confidence);
  json_builder_set_member_name (b, "searched");
  json_builder_add_boolean_value (b, isnan (fixed_shift));
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, source);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, TRUE);
  g_autofree char *rel = out_rel (ctx, "axis.json");
  g_autofree char *path = abs_path (ctx, rel);
  if (!kiln_io_write_file (path, text, strlen (text), error))
    return FALSE;
  json_object_set_double_member (details, "axis_angle_deg", angle);
  json_object_set_double_member (details, "axis_shift_px", shift);
  if (!isnan (confidence))
    json_object_set_double_member (details, "confidence", confidence);
  json_object_set_boolean_member (details, "searched", isnan (fixed_shift));
  json_object_set_string_member (details, "source", source);
  return TRUE;
}

static gboolean
read_axis (RunCtx *ctx, double *angle, double *shift, GError **error)
{
  g_autofree char *rel = out_rel (ctx, "axis.json");
  g_autofree char *path = abs_path (ctx, rel);
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, path, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root)
    : NULL;
  JsonNode *a = o != NULL ? json_object_get_member (o, "axis_angle_deg") : NULL;
  JsonNode *s = o != NULL ? json_object_get_member (o, "axis_shift_px") : NULL;
  if (a == NULL || s == NULL || !is_number (a) || !is_number (s))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: expected numbers axis_angle_deg and axis_shift_px", path);
      return FALSE;
    }
  *angle = json_node_get_double (a);
  *shift = json_node_get_double (s);
  return TRUE;
}

static gboolean
run_reconstruct (RunCtx *ctx, JsonObject *p, JsonObject *details, GError **error)
{
  KilnReconParams rp;
  KilnReconResult rr;
  const char *method = json_object_get_string_member (p, "method");
  const char *filter = json_object_get_string_member (p, "filter");

  kiln_reconstruct_params_init (&rp);
  if (!kiln_recon_method_from_string (method, &rp.method))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.reconstruct.method: unknown method “%s” (wbp, sirt or iser)", method);
      return FALSE;
    }
  if (!kiln_filter_from_string (filter, &rp.filter))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.reconstruct.filter: unknown filter “%s”", filter);
      return FALSE;
    }
  rp.iterations = p_uint (p, "iterations");
  rp.data_passes = p_uint (p, "data_passes");
  rp.tv_steps = p_uint (p, "tv_steps");
  rp.sensitivity = p_double (p, "sensitivity");
  rp.relaxation = p_double (p, "relaxation");
  rp.subsets = p_uint (p, "subsets");
  rp.nonneg = json_object_get_boolean_member (p, "nonneg");
  rp.thickness = p_uint (p, "thickness_px");
  rp.keep_on_cancel = FALSE;
  rp.preview_interval_s = 1e9;
  if (!read_axis (ctx, &rp.axis_angle_deg, &rp.axis_shift_px, error))
    return FALSE;
  g_autofree char *in_rel = out_rel (ctx, "aligned.mrc");
  g_autoptr(KilnImageStack) in = load_series (ctx, in_rel, error);
  if (in == NULL)
    return FALSE;
  g_autoptr(KilnVolume) v = kiln_reconstruct (in, &rp, &rr, ctx->cancellable, step_progress,
                                              ctx, error);
  if (v == NULL)
    return FALSE;
  g_autofree char *rel = out_rel (ctx, "reconstruction.mrc");
  g_autofree char *path = abs_path (ctx, rel);
  if (!kiln_mrc_save_volume (v, path, "kiln reconstruct", error))
    return FALSE;
  json_object_set_double_member (details, "axis_angle_deg", rp.axis_angle_deg);
  json_object_set_double_member (details, "axis_shift_px", rp.axis_shift_px);
  json_object_set_int_member (details, "iterations_done", rr.iterations_done);
  json_object_set_int_member (details, "subsets_used", rr.subsets);
  if (isfinite (rr.residual))
    json_object_set_double_member (details, "residual", rr.residual);
  return TRUE;
}

static gboolean
run_segment (RunCtx *ctx, JsonObject *p, JsonObject *details, GError **error)
{
  KilnSegmentParams sp;
  double thr = NAN;
  guint32 n = 0;

  kiln_segment_params_init (&sp);
  sp.otsu = json_object_get_boolean_member (p, "otsu");
  sp.threshold = p_double (p, "threshold");
  sp.erode = p_uint (p, "erode_voxels");
  sp.dilate = p_uint (p, "dilate_voxels");
  sp.connectivity = p_uint (p, "connectivity");
  sp.min_voxels = (guint64) json_object_get_int_member (p, "min_voxels");
  sp.split = json_object_get_boolean_member (p, "split");
  sp.split_h = p_double (p, "split_h_voxels");
  if (sp.connectivity != 6 && sp.connectivity != 26)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.segment.connectivity must be 6 or 26 (got %u)", sp.connectivity);
      return FALSE;
    }
  g_autofree char *in_rel = out_rel (ctx, "reconstruction.mrc");
  g_autofree char *in_path = abs_path (ctx, in_rel);
  g_autoptr(KilnVolume) v = kiln_io_load_volume (in_path, ctx->cancellable, error);
  if (v == NULL)
    return FALSE;
  g_autoptr(KilnLabelVolume) l = kiln_segment (v, &sp, &thr, &n, ctx->cancellable,
                                               step_progress, ctx, error);
  if (l == NULL)
    return FALSE;
  g_autofree char *rel = out_rel (ctx, "labels.mrc");
  g_autofree char *path = abs_path (ctx, rel);
  if (!kiln_mrc_save_labels (l, path, "kiln segment", error))
    return FALSE;
  json_object_set_double_member (details, "threshold_used", thr);
  json_object_set_int_member (details, "n_labels", n);
  return TRUE;
}

static gboolean
run_measure (RunCtx *ctx, JsonObject *p, JsonObject *details, GError **error)
{
  const char *eb = json_object_get_string_member (p, "error_bars");
  gboolean errors;

  if (g_str_equal (eb, "none"))
    errors = FALSE;
  else if (g_str_equal (eb, "labels"))
    errors = TRUE;
  else
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "experiment.json: steps.measure.error_bars: unknown “%s” (none or labels)", eb);
      return FALSE;
    }
  g_autofree char *in_rel = out_rel (ctx, "labels.mrc");
  g_autofree char *in_path = abs_path (ctx, in_rel);
  g_autoptr(KilnLabelVolume) l = kiln_mrc_load_labels (in_path, ctx->cancellable, error);
  if (l == NULL)
    return FALSE;
  g_autoptr(GArray) pairs = kiln_measure_all_pairs (l, ctx->cancellable, error);
  if (pairs == NULL)
    return FALSE;
  g_autoptr(GArray) particles = kiln_label_particles (l);
  double vs = l->voxel_size_nm > 0 ? l->voxel_size_nm : 1;

  g_autoptr(GPtrArray) cols = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (cols, g_strdup ("time_point"));
  g_ptr_array_add (cols, g_strdup ("pt_time_s"));
  g_ptr_array_add (cols, g_strdup ("temperature_C"));
  g_ptr_array_add (cols, g_strdup ("a"));
  g_ptr_array_add (cols, g_strdup ("b"));
  for (guint k = 0; k < KILN_MEASURE_N_VALUES; k++)
    {
      const char *u = kiln_measure_value_unit (k);
      g_ptr_array_add (cols, *u ? g_strdup_printf ("%s_%s", kiln_measure_value_name (k), u)
                                : g_strdup (kiln_measure_value_name (k)));
    }
  if (errors)
    for (guint k = 0; k < KILN_MEASURE_N_VALUES; k++)
      {
        const char *u = kiln_measure_value_unit (k);
        g_ptr_array_add (cols, *u ? g_strdup_printf ("%s_error_%s", kiln_measure_value_name (k),
                                                     u)
                                  : g_strdup_printf ("%s_error", kiln_measure_value_name (k)));
      }
  const char *xyz[] = { "a_x_nm", "a_y_nm", "a_z_nm", "b_x_nm", "b_y_nm", "b_z_nm",
                        "contact_area_nm2" };
  for (guint k = 0; k < G_N_ELEMENTS (xyz); k++)
    g_ptr_array_add (cols, g_strdup (xyz[k]));
  g_ptr_array_add (cols, NULL);
  g_autoptr(KilnCsv) csv = kiln_csv_new ((const char *const *) cols->pdata);
  guint ncol = kiln_csv_n_columns (csv);
  double *row = g_new0 (double, ncol);
  guint tp_index = 0;
  for (guint i = 0; i < ctx->experiment->time_points->len; i++)
    if (g_ptr_array_index (ctx->experiment->time_points, i) == ctx->tp)
      tp_index = i + 1;
  double n_dims[3] = { l->nx, l->ny, l->nz };

  for (guint i = 0; i < pairs->len; i++)
    {
      KilnPairMeasure *m = &g_array_index (pairs, KilnPairMeasure, i);
      if (g_cancellable_set_error_if_cancelled (ctx->cancellable, error))
        {
          g_free (row);
          return FALSE;
        }
      if (errors && !kiln_measure_sensitivity_labels (l, m, ctx->cancellable, error))
        {
          g_free (row);
          return FALSE;
        }
      guint c = 0;
      row[c++] = tp_index;
      row[c++] = ctx->tp->time_s;
      row[c++] = ctx->tp->temperature_c;
      row[c++] = m->a;
      row[c++] = m->b;
      for (guint k = 0; k < KILN_MEASURE_N_VALUES; k++)
        row[c++] = m->value[k];
      if (errors)
        for (guint k = 0; k < KILN_MEASURE_N_VALUES; k++)
          row[c++] = m->error[k];
      const KilnParticle *pa = &g_array_index (particles, KilnParticle, m->a - 1);
      const KilnParticle *pb = &g_array_index (particles, KilnParticle, m->b - 1);
      for (guint d = 0; d < 3; d++)
        row[c++] = (pa->centroid[d] - (n_dims[d] - 1) / 2) * vs;
      for (guint d = 0; d < 3; d++)
        row[c++] = (pb->centroid[d] - (n_dims[d] - 1) / 2) * vs;
      row[c++] = m->contact_area_nm2;
      kiln_csv_add_row (csv, row);
      step_progress ((i + 1.0) / pairs->len, "measuring pairs", ctx);
    }
  g_free (row);
  g_autofree char *rel = out_rel (ctx, "pairs.csv");
  g_autofree char *path = abs_path (ctx, rel);
  if (!kiln_csv_save (csv, path, error))
    return FALSE;
  json_object_set_int_member (details, "n_pairs", pairs->len);
  return TRUE;
}

typedef gboolean (*StepFunc) (RunCtx *, JsonObject *, JsonObject *, GError **);

static const StepFunc step_funcs[KILN_N_STEPS] = {
  run_denoise, run_align, run_axis, run_reconstruct, run_segment, run_measure,
};

/* Inputs (relative paths; the first one is the raw series for denoise) and outputs. */
static GPtrArray *
step_inputs (RunCtx *ctx, KilnStep step)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  switch (step)
    {
    case KILN_STEP_DENOISE:
      g_ptr_array_add (a, g_strdup (ctx->tp->tilts));
      break;
    case KILN_STEP_ALIGN:
      g_ptr_array_add (a, out_rel (ctx, "denoised.mrc"));
      break;
    case KILN_STEP_AXIS:
      g_ptr_array_add (a, out_rel (ctx, "aligned.mrc"));
      break;
    case KILN_STEP_RECONSTRUCT:
      g_ptr_array_add (a, out_rel (ctx, "aligned.mrc"));
      g_ptr_array_add (a, out_rel (ctx, "axis.json"));
      break;
    case KILN_STEP_SEGMENT:
      g_ptr_array_add (a, out_rel (ctx, "reconstruction.mrc"));
      break;
    case KILN_STEP_MEASURE:
      g_ptr_array_add (a, out_rel (ctx, "labels.mrc"));
      break;
    case KILN_N_STEPS:
    default:
      break;
    }
  if (step <= KILN_STEP_RECONSTRUCT && ctx->tp->angles != NULL)
    g_ptr_array_add (a, g_strdup (ctx->tp->angles));
  return a;
}

static GPtrArray *
step_outputs (RunCtx *ctx, KilnStep step)
{
  static const char *const names[KILN_N_STEPS][3] = {
    { "denoised.mrc" }, { "aligned.mrc", "align.xf" }, { "axis.json" },
    { "reconstruction.mrc" }, { "labels.mrc" }, { "pairs.csv" },
  };
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < 3 && names[step][i] != NULL; i++)
    g_ptr_array_add (a, out_rel (ctx, names[step][i]));
  return a;
}

/* A step's content hash (docs/pipeline.md): SHA-256 over the step name, the canonical JSON of
 * its effective parameters and, per input file, its relative path and SHA-256 (recorded in
 * @in_obj). @canon (nullable) gets the canonical parameters. */
static char *
step_hash (RunCtx      *ctx,
           KilnStep     s,
           JsonObject  *params,
           JsonObject  *in_obj,
           char       **canon,
           GError     **error)
{
  const char *name = kiln_step_to_string (s);
  g_autoptr(GPtrArray) inputs = step_inputs (ctx, s);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(JsonNode) pnode = json_node_init_object (json_node_alloc (), params);
  g_autofree char *c = kiln_pipeline_canonical_json (pnode);

  g_checksum_update (sum, (const guchar *) name, strlen (name) + 1);
  g_checksum_update (sum, (const guchar *) c, strlen (c) + 1);
  for (guint i = 0; i < inputs->len; i++)
    {
      const char *rel = g_ptr_array_index (inputs, i);
      g_autofree char *path = kiln_experiment_path (ctx->experiment, rel);
      GError *e2 = NULL;
      g_autofree char *h = sha256_file (path, &e2);
      if (h == NULL)
        {
          if (g_error_matches (e2, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) && s > 0)
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                           "%s: missing input of the %s step (run the earlier steps first)",
                           path, name);
              g_clear_error (&e2);
            }
          else
            g_propagate_error (error, e2);
          return NULL;
        }
      g_checksum_update (sum, (const guchar *) rel, strlen (rel) + 1);
      g_checksum_update (sum, (const guchar *) h, strlen (h) + 1);
      json_object_set_string_member (in_obj, rel, h);
    }
  if (canon != NULL)
    *canon = g_steal_pointer (&c);
  return g_strdup (g_checksum_get_string (sum));
}

/* ---------------------------------------------------------------- results files */

static char *
results_path (const KilnExperiment *experiment, const KilnExperimentTimePoint *tp)
{
  g_autofree char *rel = g_strdup_printf ("%s/results.json", tp->name);
  return kiln_experiment_path (experiment, rel);
}

JsonObject *
kiln_pipeline_load_results (const KilnExperiment *experiment,
                            guint                 index,
                            GError              **error)
{
  g_return_val_if_fail (index < experiment->time_points->len, NULL);
  const KilnExperimentTimePoint *tp = g_ptr_array_index (experiment->time_points, index);
  g_autofree char *path = results_path (experiment, tp);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  GError *local = NULL;
  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %s", path, local->message);
      g_error_free (local);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root)
    : NULL;
  JsonNode *steps = o != NULL ? json_object_get_member (o, "steps") : NULL;
  if (steps == NULL || !JSON_NODE_HOLDS_OBJECT (steps))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: not a Kiln results file (no \"steps\" object)", path);
      return NULL;
    }
  return json_object_ref (o);
}

static gboolean
save_results (const KilnExperiment *experiment, const KilnExperimentTimePoint *tp,
              JsonObject *results, GError **error)
{
  g_autofree char *path = results_path (experiment, tp);
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), results);
  g_autofree char *text = json_to_string (node, TRUE);
  return kiln_io_write_file (path, text, strlen (text), error);
}

void
kiln_step_report_clear (gpointer report)
{
  KilnStepReport *r = report;
  g_clear_pointer (&r->hash, g_free);
}

static void
log_line (RunCtx *ctx, const char *format, ...)
{
  if (ctx->log == NULL)
    return;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (ctx->log, "%s %s %s\n", stamp, ctx->tp->name, msg);
  fflush (ctx->log);
}

JsonObject *
kiln_pipeline_run_time_point (const KilnExperiment *experiment,
                              guint                 index,
                              guint                 steps_mask,
                              gboolean              force,
                              GArray               *reports,
                              GCancellable         *cancellable,
                              KilnProgressFunc      progress,
                              gpointer              progress_data,
                              GError              **error)
{
  if (experiment->dir == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "the experiment has no folder (load it from its experiment.json)");
      return NULL;
    }
  if (index >= experiment->time_points->len)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "time point %u does not exist (the experiment has %u)", index + 1,
                   experiment->time_points->len);
      return NULL;
    }
  RunCtx ctx = { 0 };
  ctx.experiment = experiment;
  ctx.tp = g_ptr_array_index (experiment->time_points, index);
  /* the name is the output folder: it must stay inside the experiment */
  if (ctx.tp->name == NULL || ctx.tp->name[0] == '\0' || ctx.tp->name[0] == '.'
      || strchr (ctx.tp->name, '/') != NULL || strchr (ctx.tp->name, '\\') != NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s/experiment.json: time point name “%s” cannot be a folder name (no “/”, "
                   "no leading “.”)", experiment->dir, ctx.tp->name ? ctx.tp->name : "");
      return NULL;
    }
  ctx.cancellable = cancellable;
  ctx.progress = progress;
  ctx.progress_data = progress_data;

  /* Validate every selected step's parameters before any work. */
  JsonObject *params[KILN_N_STEPS] = { NULL };
  JsonObject *results = NULL;
  char *log_path = NULL;
  for (guint s = 0; s < KILN_N_STEPS; s++)
    if ((steps_mask & (1u << s)) != 0
        && (params[s] = kiln_pipeline_step_params (experiment, s, error)) == NULL)
      goto fail;

  GError *local = NULL;
  results = kiln_pipeline_load_results (experiment, index, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      goto fail;
    }
  if (results == NULL)
    {
      results = json_object_new ();
      json_object_set_string_member (results, "time_point", ctx.tp->name);
      json_object_set_object_member (results, "steps", json_object_new ());
    }
  JsonObject *rsteps = json_object_get_object_member (results, "steps");

  ctx.tp_dir = kiln_experiment_path (experiment, ctx.tp->name);
  if (g_mkdir_with_parents (ctx.tp_dir, 0777) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", ctx.tp_dir,
                   g_strerror (e));
      goto fail;
    }
  log_path = g_build_filename (ctx.tp_dir, "run.log", NULL);
  ctx.log = g_fopen (log_path, "a");
  if (ctx.log == NULL)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", log_path,
                   g_strerror (e));
      goto fail;
    }
  log_line (&ctx, "run: kiln %s, steps mask 0x%x%s", PACKAGE_VERSION, steps_mask,
            force ? ", forced" : "");

  guint n_sel = 0, done = 0;
  for (guint s = 0; s < KILN_N_STEPS; s++)
    n_sel += (steps_mask >> s) & 1;
  double total_s = 0;

  for (guint s = 0; s < KILN_N_STEPS; s++)
    {
      if ((steps_mask & (1u << s)) == 0)
        continue;
      const char *name = kiln_step_to_string (s);
      ctx.base = (double) done / n_sel;
      ctx.span = 1.0 / n_sel;
      step_progress (0, name, &ctx);

      /* content hash */
      g_autoptr(GPtrArray) outputs = step_outputs (&ctx, s);
      g_autoptr(JsonObject) in_obj = json_object_new ();
      g_autofree char *canon = NULL;
      g_autofree char *hash = step_hash (&ctx, s, params[s], in_obj, &canon, error);
      if (hash == NULL)
        {
          log_line (&ctx, "%s: failed: %s", name, (*error)->message);
          goto fail;
        }

      /* unchanged? */
      gboolean skip = FALSE;
      JsonObject *prev = json_object_has_member (rsteps, name)
        ? json_object_get_object_member (rsteps, name) : NULL;
      if (!force && prev != NULL
          && g_strcmp0 (json_object_get_string_member_with_default (prev, "hash", ""),
                        hash) == 0
          && json_object_has_member (prev, "outputs"))
        {
          JsonObject *po = json_object_get_object_member (prev, "outputs");
          skip = po != NULL;
          for (guint i = 0; skip && i < outputs->len; i++)
            {
              const char *rel = g_ptr_array_index (outputs, i);
              g_autofree char *path = kiln_experiment_path (experiment, rel);
              g_autofree char *h = sha256_file (path, NULL);
              skip = h != NULL && g_strcmp0 (json_object_get_string_member_with_default
                                               (po, rel, ""), h) == 0;
            }
        }

      KilnStepReport rep = { s, skip, 0, g_strdup (hash) };
      if (skip)
        {
          log_line (&ctx, "%s: skipped (unchanged, hash %.16s)", name, hash);
        }
      else
        {
          g_autoptr(JsonObject) details = json_object_new ();
          gint64 t0 = g_get_monotonic_time ();
          log_line (&ctx, "%s: started (parameters %s)", name, canon);
          if (!step_funcs[s] (&ctx, params[s], details, error))
            {
              log_line (&ctx, "%s: failed after %.2f s: %s", name,
                        (g_get_monotonic_time () - t0) / 1e6, (*error)->message);
              kiln_step_report_clear (&rep);
              goto fail;
            }
          rep.seconds = (g_get_monotonic_time () - t0) / 1e6;
          total_s += rep.seconds;

          g_autoptr(JsonObject) out_obj = json_object_new ();
          for (guint i = 0; i < outputs->len; i++)
            {
              const char *rel = g_ptr_array_index (outputs, i);
              g_autofree char *path = kiln_experiment_path (experiment, rel);
              g_autofree char *h = sha256_file (path, error);
              if (h == NULL)
                {
                  kiln_step_report_clear (&rep);
                  goto fail;
                }
              json_object_set_string_member (out_obj, rel, h);
            }
          g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
          g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
          JsonObject *r = json_object_new ();
          json_object_set_string_member (r, "hash", hash);
          json_object_set_object_member (r, "parameters", json_object_ref (params[s]));
          json_object_set_object_member (r, "inputs", json_object_ref (in_obj));
          json_object_set_object_member (r, "outputs", json_object_ref (out_obj));
          json_object_set_object_member (r, "details", json_object_ref (details));
          json_object_set_double_member (r, "seconds", rep.seconds);
          json_object_set_string_member (r, "software_version", PACKAGE_VERSION);
          json_object_set_string_member (r, "finished_utc", stamp);
          json_object_set_object_member (rsteps, name, r);
          json_object_set_string_member (results, "software_version", PACKAGE_VERSION);
          if (!save_results (experiment, ctx.tp, results, error))
            {
              kiln_step_report_clear (&rep);
              goto fail;
            }
          log_line (&ctx, "%s: done in %.2f s (hash %.16s)", name, rep.seconds, hash);
        }
      if (reports != NULL)
        g_array_append_val (reports, rep);
      else
        kiln_step_report_clear (&rep);
      done++;
      ctx.base = (double) done / n_sel;
      ctx.span = 0;
      step_progress (0, name, &ctx);
    }
  log_line (&ctx, "run: finished, %.2f s of work", total_s);

  for (guint s = 0; s < KILN_N_STEPS; s++)
    g_clear_pointer (&params[s], json_object_unref);
  fclose (ctx.log);
  g_free (ctx.tp_dir);
  g_free (log_path);
  return results;

fail:
  for (guint s = 0; s < KILN_N_STEPS; s++)
    g_clear_pointer (&params[s], json_object_unref);
  g_clear_pointer (&results, json_object_unref);
  if (ctx.log != NULL)
    fclose (ctx.log);
  g_free (ctx.tp_dir);
  g_free (log_path);
  return NULL;
}

/* ---------------------------------------------------------------- results made elsewhere */

gboolean
kiln_pipeline_record_step (const KilnExperiment *experiment,
                           guint                 index,
                           KilnStep              step,
                           JsonObject           *params,
                           JsonObject           *details,
                           const char           *origin,
                           GError              **error)
{
  g_return_val_if_fail (step < KILN_N_STEPS, FALSE);
  if (experiment->dir == NULL || index >= experiment->time_points->len)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "time point %u of an experiment without folder or with %u time points",
                   index + 1, experiment->time_points->len);
      return FALSE;
    }
  RunCtx ctx = { 0 };
  ctx.experiment = experiment;
  ctx.tp = g_ptr_array_index (experiment->time_points, index);
  if (ctx.tp->name == NULL || ctx.tp->name[0] == '\0' || ctx.tp->name[0] == '.'
      || strchr (ctx.tp->name, '/') != NULL || strchr (ctx.tp->name, '\\') != NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s/experiment.json: time point name “%s” cannot be a folder name",
                   experiment->dir, ctx.tp->name ? ctx.tp->name : "");
      return FALSE;
    }
  const char *name = kiln_step_to_string (step);
  g_autofree char *tp_dir = kiln_experiment_path (experiment, ctx.tp->name);
  g_autofree char *log_path = g_build_filename (tp_dir, "run.log", NULL);
  g_autoptr(JsonObject) p = NULL;
  g_autoptr(JsonObject) results = NULL;
  g_autoptr(JsonObject) in_obj = json_object_new ();
  g_autoptr(JsonObject) out_obj = json_object_new ();
  g_autoptr(GPtrArray) outputs = step_outputs (&ctx, step);
  g_autofree char *hash = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *stamp = NULL;
  JsonObject *r;
  GError *local = NULL;
  gboolean ok = FALSE;

  if (origin == NULL)
    origin = "app";
  if (g_mkdir_with_parents (tp_dir, 0777) == 0)
    ctx.log = g_fopen (log_path, "a");

  p = params != NULL ? effective_params (experiment, step, params, &local)
                     : kiln_pipeline_step_params (experiment, step, &local);
  if (p == NULL)
    goto out;
  results = kiln_pipeline_load_results (experiment, index, &local);
  if (local != NULL)
    goto out;
  if (results == NULL)
    {
      results = json_object_new ();
      json_object_set_string_member (results, "time_point", ctx.tp->name);
      json_object_set_object_member (results, "steps", json_object_new ());
    }
  hash = step_hash (&ctx, step, p, in_obj, NULL, &local);
  if (hash == NULL)
    goto out;
  for (guint i = 0; i < outputs->len; i++)
    {
      const char *rel = g_ptr_array_index (outputs, i);
      g_autofree char *path = kiln_experiment_path (experiment, rel);
      g_autofree char *h = sha256_file (path, &local);
      if (h == NULL)
        goto out;
      json_object_set_string_member (out_obj, rel, h);
    }
  now = g_date_time_new_now_utc ();
  stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  r = json_object_new ();
  json_object_set_string_member (r, "hash", hash);
  json_object_set_object_member (r, "parameters", json_object_ref (p));
  json_object_set_object_member (r, "inputs", json_object_ref (in_obj));
  json_object_set_object_member (r, "outputs", json_object_ref (out_obj));
  if (details != NULL)
    {
      g_autoptr(JsonNode) dn = json_node_init_object (json_node_alloc (), details);
      json_object_set_member (r, "details", json_node_copy (dn));
    }
  else
    json_object_set_object_member (r, "details", json_object_new ());
  json_object_set_string_member (r, "origin", origin);
  json_object_set_double_member (r, "seconds", 0);
  json_object_set_string_member (r, "software_version", PACKAGE_VERSION);
  json_object_set_string_member (r, "finished_utc", stamp);
  json_object_set_object_member (json_object_get_object_member (results, "steps"), name, r);
  json_object_set_string_member (results, "software_version", PACKAGE_VERSION);
  if (!save_results (experiment, ctx.tp, results, &local))
    goto out;
  log_line (&ctx, "%s: recorded the result saved by the %s (hash %.16s)", name, origin, hash);
  ok = TRUE;

out:
  if (!ok)
    {
      log_line (&ctx, "%s: the result saved by the %s is not recorded (kiln-cli run will compute "
                "it again): %s", name, origin, local->message);
      g_propagate_error (error, local);
    }
  if (ctx.log != NULL)
    fclose (ctx.log);
  return ok;
}

/* ---------------------------------------------------------------- merge */

gboolean
kiln_pipeline_merge (KilnExperiment *experiment,
                     guint          *n_merged,
                     GError        **error)
{
  guint n = 0;
  g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func (
    (GDestroyNotify) json_object_unref);

  /* read everything first: a bad results file leaves experiment.json untouched */
  for (guint i = 0; i < experiment->time_points->len; i++)
    {
      GError *local = NULL;
      JsonObject *r = kiln_pipeline_load_results (experiment, i, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      g_ptr_array_add (loaded, r);
    }
  for (guint i = 0; i < experiment->time_points->len; i++)
    {
      JsonObject *r = g_ptr_array_index (loaded, i);
      const KilnExperimentTimePoint *tp = g_ptr_array_index (experiment->time_points, i);
      if (r == NULL)
        continue;
      n++;
      JsonObject *rsteps = json_object_get_object_member (r, "steps");
      for (guint s = 0; s < KILN_N_STEPS; s++)
        {
          const char *name = kiln_step_to_string (s);
          if (!json_object_has_member (rsteps, name))
            continue;
          JsonNode *sn = json_object_get_member (rsteps, name);
          if (!JSON_NODE_HOLDS_OBJECT (sn))
            continue;
          JsonObject *step = kiln_experiment_get_step (experiment, name);
          if (step == NULL)
            {
              g_autoptr(JsonObject) o = json_object_new ();
              kiln_experiment_set_step (experiment, name, o);
              step = kiln_experiment_get_step (experiment, name);
            }
          JsonObject *res = json_object_has_member (step, "results")
            && JSON_NODE_HOLDS_OBJECT (json_object_get_member (step, "results"))
            ? json_object_get_object_member (step, "results") : NULL;
          if (res == NULL)
            {
              res = json_object_new ();
              json_object_set_object_member (step, "results", res);
            }
          json_object_set_member (res, tp->name, json_node_copy (sn));
        }
    }
  if (n_merged != NULL)
    *n_merged = n;
  return kiln_experiment_save (experiment, experiment->dir, error);
}

/* ---------------------------------------------------------------- methods */

static const char *
unit_of (const char *key)
{
  if (g_str_has_suffix (key, "_deg"))
    return " °";
  if (g_str_has_suffix (key, "_px"))
    return " px";
  if (g_str_has_suffix (key, "_nm"))
    return " nm";
  if (g_str_has_suffix (key, "_voxels"))
    return " voxels";
  if (g_str_equal (key, "min_voxels"))
    return " voxels";
  if (g_str_has_suffix (key, "_s"))
    return " s";
  if (g_str_equal (key, "variance"))
    return " (image intensity units)²";
  if (g_str_equal (key, "threshold"))
    return " (reconstruction intensity units)";
  if (g_str_equal (key, "n_slices") || g_str_equal (key, "subsets"))
    return " (count)";
  if (g_str_equal (key, "variance_0_255"))
    return " (grey levels² on a 0–255 scale of the series' range)";
  if (g_str_equal (key, "iterations") || g_str_equal (key, "data_passes")
      || g_str_equal (key, "tv_steps"))
    return " (count)";
  return " (dimensionless)";
}

static void
append_params (GString *s, JsonObject *p)
{
  g_autoptr(GList) keys = json_object_get_members (p);
  keys = g_list_sort (keys, (GCompareFunc) strcmp);
  gboolean first = TRUE;
  for (GList *l = keys; l != NULL; l = l->next)
    {
      const char *k = l->data;
      JsonNode *v = json_object_get_member (p, k);
      g_string_append (s, first ? " (" : "; ");
      first = FALSE;
      if (JSON_NODE_HOLDS_NULL (v))
        g_string_append_printf (s, "%s = automatic", k);
      else if (is_number (v))
        g_string_append_printf (s, "%s = %g%s", k, json_node_get_double (v), unit_of (k));
      else if (json_node_get_value_type (v) == G_TYPE_BOOLEAN)
        g_string_append_printf (s, "%s = %s", k, json_node_get_boolean (v) ? "yes" : "no");
      else
        g_string_append_printf (s, "%s = %s", k, json_node_get_string (v));
    }
  g_string_append (s, first ? "" : ")");
}

/* min–max over the time points of a details value, or of "seconds" when @key is NULL */
static gboolean
range_of (const KilnExperiment *experiment, const char *step, const char *key,
          double *lo, double *hi, double *sum, guint *n)
{
  JsonObject *so = kiln_experiment_get_step (experiment, step);
  *lo = INFINITY, *hi = -INFINITY, *sum = 0, *n = 0;
  if (so == NULL || !json_object_has_member (so, "results"))
    return FALSE;
  JsonNode *rn = json_object_get_member (so, "results");
  if (!JSON_NODE_HOLDS_OBJECT (rn))
    return FALSE;
  JsonObject *res = json_node_get_object (rn);
  g_autoptr(GList) tps = json_object_get_members (res);
  for (GList *l = tps; l != NULL; l = l->next)
    {
      JsonNode *tn = json_object_get_member (res, l->data);
      if (!JSON_NODE_HOLDS_OBJECT (tn))
        continue;
      JsonObject *t = json_node_get_object (tn);
      JsonNode *v = NULL;
      if (key == NULL)
        v = json_object_get_member (t, "seconds");
      else if (json_object_has_member (t, "details")
               && JSON_NODE_HOLDS_OBJECT (json_object_get_member (t, "details")))
        v = json_object_get_member (json_object_get_object_member (t, "details"), key);
      if (v == NULL || !is_number (v))
        continue;
      double x = json_node_get_double (v);
      *lo = MIN (*lo, x), *hi = MAX (*hi, x), *sum += x, (*n)++;
    }
  return *n > 0;
}

/* The number of time points whose merged record of @step has the string @value at @key
 * (in "details" when @in_details). */
static guint
count_results (const KilnExperiment *experiment, const char *step, gboolean in_details,
               const char *key, const char *value)
{
  JsonObject *so = kiln_experiment_get_step (experiment, step);
  guint n = 0;
  if (so == NULL || !json_object_has_member (so, "results")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (so, "results")))
    return 0;
  JsonObject *res = json_object_get_object_member (so, "results");
  g_autoptr(GList) tps = json_object_get_members (res);
  for (GList *l = tps; l != NULL; l = l->next)
    {
      JsonNode *tn = json_object_get_member (res, l->data);
      JsonObject *t = JSON_NODE_HOLDS_OBJECT (tn) ? json_node_get_object (tn) : NULL;
      if (t != NULL && in_details)
        t = json_object_has_member (t, "details")
          && JSON_NODE_HOLDS_OBJECT (json_object_get_member (t, "details"))
          ? json_object_get_object_member (t, "details") : NULL;
      JsonNode *v = t != NULL ? json_object_get_member (t, key) : NULL;
      if (v != NULL && JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING
          && g_strcmp0 (json_node_get_string (v), value) == 0)
        n++;
    }
  return n;
}

static void
append_range (GString *s, const KilnExperiment *e, const char *step, const char *key,
              const char *what, const char *unit)
{
  double lo, hi, sum;
  guint n;
  if (!range_of (e, step, key, &lo, &hi, &sum, &n))
    return;
  if (lo == hi)
    g_string_append_printf (s, " %s: %.4g%s.", what, lo, unit);
  else
    g_string_append_printf (s, " %s: %.4g–%.4g%s over %u time points.", what, lo, hi, unit, n);
}

char *
kiln_pipeline_methods (const KilnExperiment *experiment,
                       GError              **error)
{
  static const char *const intro[KILN_N_STEPS] = {
    "Denoising: each tilt image was denoised with BM3D using a correlated (PSD-aware) noise "
    "model",
    "Alignment: the tilt series were aligned by cross-correlation of adjacent tilts "
    "(with Mattes mutual-information refinement for method mi), resampled through the "
    "per-tilt transforms",
    "Tilt axis: the tilt-axis angle and shift were found by maximising the sharpness of "
    "weighted back-projected slices",
    "Reconstruction: volumes were reconstructed with the selected method (iser: OS-SART data "
    "passes alternated with total-variation minimisation steps)",
    "Segmentation: particles were segmented by thresholding (Otsu's method when otsu = yes), "
    "morphology, connected-component labelling and watershed splitting at the necks",
    "Measurement: every pair of touching particles was measured (neck radius r_n, centre "
    "distances d_xy, d_z and d, particle radius r_p, H/W; 3D neck radius, distance, radius "
    "and aspect ratio) following Ihara et al. (2023)",
  };
  GString *s = g_string_new (NULL);
  guint n_tp = experiment->time_points->len;
  double px = experiment->pixel_size_nm;

  g_string_append_printf (s,
                          "Data were processed with Kiln %s (kiln-cli run). The experiment "
                          "“%s” has %u time point(s) at a pixel size of %g nm.",
                          PACKAGE_VERSION, experiment->title != NULL ? experiment->title : "",
                          n_tp, px);
  for (guint st = 0; st < KILN_N_STEPS; st++)
    {
      g_autoptr(JsonObject) p = kiln_pipeline_step_params (experiment, st, error);
      if (p == NULL)
        {
          g_string_free (s, TRUE);
          return NULL;
        }
      const char *name = kiln_step_to_string (st);
      g_string_append_printf (s, " %s [step %s]", intro[st], name);
      append_params (s, p);
      g_string_append_c (s, '.');
      switch (st)
        {
        case KILN_STEP_DENOISE:
          append_range (s, experiment, name, "variance_used", "Noise variance used",
                        " (image intensity units)²");
          break;
        case KILN_STEP_AXIS:
          append_range (s, experiment, name, "axis_angle_deg", "Axis angle found", " °");
          append_range (s, experiment, name, "axis_shift_px", "Axis shift found", " px");
          {
            guint n_manual = count_results (experiment, name, TRUE, "source", "manual");
            if (n_manual > 0)
              g_string_append_printf (s, " For %u time point(s) the axis was set in the Kiln app "
                                      "(by hand or an accepted suggestion) and not searched.",
                                      n_manual);
          }
          break;
        case KILN_STEP_RECONSTRUCT:
          append_range (s, experiment, name, "iterations_done", "Iterations done", "");
          break;
        case KILN_STEP_SEGMENT:
          append_range (s, experiment, name, "threshold_used", "Threshold used",
                        " (intensity units)");
          append_range (s, experiment, name, "n_labels", "Particles found", "");
          break;
        case KILN_STEP_MEASURE:
          append_range (s, experiment, name, "n_pairs", "Touching pairs", "");
          break;
        default:
          break;
        }
      guint n_app = count_results (experiment, name, FALSE, "origin", "app");
      if (n_app > 0 && st != KILN_STEP_AXIS)
        g_string_append_printf (s, " For %u time point(s) this step was computed interactively "
                                "in the Kiln app with these parameters.", n_app);
      double lo, hi, sum;
      guint n;
      if (range_of (experiment, name, NULL, &lo, &hi, &sum, &n))
        g_string_append_printf (s, " Computing time: %.3g s in total for %u time point(s).",
                                sum, n);
      else
        g_string_append (s, " (No results recorded for this step yet.)");
    }
  g_string_append_c (s, '\n');
  return g_string_free (s, FALSE);
}
