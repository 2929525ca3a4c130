/* kiln-experiment.c — experiment.json reader/writer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>

#include "kiln-error.h"
#include "kiln-experiment.h"

static void
time_point_free (gpointer data)
{
  KilnExperimentTimePoint *tp = data;
  g_free (tp->name);
  g_free (tp->tilts);
  g_free (tp->angles);
  g_free (tp->truth);
  g_free (tp);
}

KilnExperiment *
kiln_experiment_new (void)
{
  KilnExperiment *self = g_new0 (KilnExperiment, 1);
  self->format_version = KILN_EXPERIMENT_FORMAT_VERSION;
  self->time_points = g_ptr_array_new_with_free_func (time_point_free);
  self->steps = json_object_new ();
  return self;
}

void
kiln_experiment_free (KilnExperiment *self)
{
  if (self == NULL)
    return;
  g_free (self->title);
  g_ptr_array_unref (self->time_points);
  g_free (self->reference_raw);
  g_free (self->reference_average);
  g_clear_pointer (&self->simulation, json_object_unref);
  g_clear_pointer (&self->steps, json_object_unref);
  g_free (self->dir);
  g_free (self);
}

KilnExperimentTimePoint *
kiln_experiment_add_time_point (KilnExperiment *self,
                                const char     *name,
                                double          time_s,
                                double          temperature_c,
                                const char     *tilts,
                                const char     *angles,
                                const char     *truth)
{
  KilnExperimentTimePoint *tp = g_new0 (KilnExperimentTimePoint, 1);
  tp->name = g_strdup (name);
  tp->time_s = time_s;
  tp->temperature_c = temperature_c;
  tp->tilts = g_strdup (tilts);
  tp->angles = g_strdup (angles);
  tp->truth = g_strdup (truth);
  g_ptr_array_add (self->time_points, tp);
  return tp;
}

char *
kiln_experiment_path (const KilnExperiment *self,
                      const char           *relative)
{
  if (relative == NULL)
    return NULL;
  if (g_path_is_absolute (relative) || self->dir == NULL)
    return g_strdup (relative);
  return g_build_filename (self->dir, relative, NULL);
}

void
kiln_experiment_set_step (KilnExperiment *self,
                          const char     *step,
                          JsonObject     *object)
{
  json_object_set_object_member (self->steps, step, json_object_ref (object));
}

JsonObject *
kiln_experiment_get_step (const KilnExperiment *self,
                          const char           *step)
{
  if (!json_object_has_member (self->steps, step))
    return NULL;
  JsonNode *n = json_object_get_member (self->steps, step);
  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static void
set_number (JsonBuilder *b,
            const char  *key,
            double       v)
{
  json_builder_set_member_name (b, key);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
set_string (JsonBuilder *b,
            const char  *key,
            const char  *v)
{
  if (v == NULL)
    return;
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, v);
}

JsonNode *
kiln_experiment_to_json (const KilnExperiment *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format_version");
  json_builder_add_int_value (b, self->format_version);
  set_string (b, "title", self->title);
  set_number (b, "pixel_size_nm", self->pixel_size_nm);
  json_builder_set_member_name (b, "time_points");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->time_points->len; i++)
    {
      const KilnExperimentTimePoint *tp = g_ptr_array_index (self->time_points, i);
      json_builder_begin_object (b);
      set_string (b, "name", tp->name);
      set_number (b, "pt_time_s", tp->time_s);
      set_number (b, "temperature_C", tp->temperature_c);
      set_string (b, "tilts", tp->tilts);
      set_string (b, "angles", tp->angles);
      set_string (b, "truth", tp->truth);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (self->reference_raw || self->reference_average)
    {
      json_builder_set_member_name (b, "reference");
      json_builder_begin_object (b);
      set_string (b, "raw", self->reference_raw);
      set_string (b, "average", self->reference_average);
      json_builder_end_object (b);
    }
  if (self->simulation)
    {
      json_builder_set_member_name (b, "simulation");
      JsonNode *n = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (n, self->simulation);
      json_builder_add_value (b, n);
    }
  json_builder_set_member_name (b, "steps");
  JsonNode *n = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (n, self->steps);
  json_builder_add_value (b, n);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* A relative path inside the folder: not absolute, no "..", no empty component issues. */
static gboolean
check_relative (const char  *path,
                const char  *what,
                const char  *source,
                GError     **error)
{
  if (path[0] == '\0' || g_path_is_absolute (path))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: %s “%s” must be a path relative to the experiment folder", source, what,
                   path);
      return FALSE;
    }
  g_auto (GStrv) parts = g_strsplit_set (path, "/\\", -1);
  for (guint i = 0; parts[i]; i++)
    if (strcmp (parts[i], "..") == 0)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                     "%s: %s “%s” leaves the experiment folder (“..”)", source, what, path);
        return FALSE;
      }
  return TRUE;
}

static gboolean
get_opt_string (JsonObject  *o,
                const char  *key,
                char       **out,
                const char  *ctx,
                const char  *source,
                GError     **error)
{
  *out = NULL;
  if (!json_object_has_member (o, key))
    return TRUE;
  JsonNode *n = json_object_get_member (o, key);
  if (JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %s“%s” must be a string", source,
                   ctx, key);
      return FALSE;
    }
  *out = g_strdup (json_node_get_string (n));
  g_autofree char *what = g_strdup_printf ("%s“%s”", ctx, key);
  if (!check_relative (*out, what, source, error))
    {
      g_clear_pointer (out, g_free);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_number (JsonObject  *o,
            const char  *key,
            gboolean     required,
            double      *out,
            const char  *ctx,
            const char  *source,
            GError     **error)
{
  *out = NAN;
  if (!json_object_has_member (o, key) || JSON_NODE_HOLDS_NULL (json_object_get_member (o, key)))
    {
      if (required)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %s“%s” is missing", source, ctx,
                       key);
          return FALSE;
        }
      return TRUE;
    }
  JsonNode *n = json_object_get_member (o, key);
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %s“%s” must be a number", source,
                   ctx, key);
      return FALSE;
    }
  *out = json_node_get_double (n);
  if (!isfinite (*out))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %s“%s” is not finite", source, ctx,
                   key);
      return FALSE;
    }
  return TRUE;
}

KilnExperiment *
kiln_experiment_from_json (JsonNode    *node,
                           const char  *source,
                           GError     **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: the top level is not a JSON object",
                   source);
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  g_autoptr (KilnExperiment) self = kiln_experiment_new ();
  double v;
  if (!get_number (o, "format_version", TRUE, &v, "", source, error))
    return NULL;
  if (v != floor (v) || v < 1 || v > KILN_EXPERIMENT_FORMAT_VERSION)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: format_version %g is not supported (this Kiln reads 1…%d)", source, v,
                   KILN_EXPERIMENT_FORMAT_VERSION);
      return NULL;
    }
  self->format_version = (int) v;
  if (json_object_has_member (o, "title"))
    {
      JsonNode *n = json_object_get_member (o, "title");
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        self->title = g_strdup (json_node_get_string (n));
    }
  if (!get_number (o, "pixel_size_nm", TRUE, &self->pixel_size_nm, "", source, error))
    return NULL;
  if (!(self->pixel_size_nm > 0))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: pixel_size_nm %g must be > 0",
                   source, self->pixel_size_nm);
      return NULL;
    }
  JsonNode *tpn = json_object_get_member (o, "time_points");
  if (tpn == NULL || !JSON_NODE_HOLDS_ARRAY (tpn)
      || json_array_get_length (json_node_get_array (tpn)) == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: “time_points” must be a non-empty array", source);
      return NULL;
    }
  JsonArray *arr = json_node_get_array (tpn);
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *e = json_array_get_element (arr, i);
      g_autofree char *ctx = g_strdup_printf ("time point %u: ", i + 1);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %snot an object", source, ctx);
          return NULL;
        }
      JsonObject *to = json_node_get_object (e);
      JsonNode *nn = json_object_get_member (to, "name");
      if (nn == NULL || !JSON_NODE_HOLDS_VALUE (nn) || json_node_get_value_type (nn) != G_TYPE_STRING
          || json_node_get_string (nn)[0] == '\0')
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %s“name” must be a non-empty "
                       "string", source, ctx);
          return NULL;
        }
      const char *name = json_node_get_string (nn);
      double t, temp;
      g_autofree char *tilts = NULL, *angles = NULL, *truth = NULL;
      if (!get_number (to, "pt_time_s", TRUE, &t, ctx, source, error)
          || !get_number (to, "temperature_C", FALSE, &temp, ctx, source, error)
          || !get_opt_string (to, "tilts", &tilts, ctx, source, error)
          || !get_opt_string (to, "angles", &angles, ctx, source, error)
          || !get_opt_string (to, "truth", &truth, ctx, source, error))
        return NULL;
      if (tilts == NULL)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %s“tilts” is missing", source,
                       ctx);
          return NULL;
        }
      KilnExperimentTimePoint *tp = kiln_experiment_add_time_point (self, name, t, temp, tilts,
                                                                    angles, truth);
      if (g_hash_table_contains (names, tp->name))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: time point name “%s” is used "
                       "twice", source, name);
          return NULL;
        }
      g_hash_table_add (names, tp->name);
    }
  JsonNode *ref = json_object_get_member (o, "reference");
  if (ref != NULL && JSON_NODE_HOLDS_OBJECT (ref))
    {
      if (!get_opt_string (json_node_get_object (ref), "raw", &self->reference_raw, "reference ",
                           source, error)
          || !get_opt_string (json_node_get_object (ref), "average", &self->reference_average,
                              "reference ", source, error))
        return NULL;
    }
  JsonNode *sim = json_object_get_member (o, "simulation");
  if (sim != NULL && JSON_NODE_HOLDS_OBJECT (sim))
    self->simulation = json_object_ref (json_node_get_object (sim));
  JsonNode *steps = json_object_get_member (o, "steps");
  if (steps != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (steps))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: “steps” must be an object",
                       source);
          return NULL;
        }
      json_object_unref (self->steps);
      self->steps = json_object_ref (json_node_get_object (steps));
    }
  return g_steal_pointer (&self);
}

static KilnExperiment *
kiln_experiment_load_unchecked (const char  *path,
                      GError     **error)
{
  g_autofree char *file = NULL;
  g_autofree char *dir = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      file = g_build_filename (path, "experiment.json", NULL);
      dir = g_strdup (path);
    }
  else
    {
      file = g_strdup (path);
      dir = g_path_get_dirname (path);
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_file (parser, file, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no such file (not a Kiln "
                     "experiment folder?)", file);
      else
        g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: %s", file, local->message);
      return NULL;
    }
  KilnExperiment *self = kiln_experiment_from_json (json_parser_get_root (parser), file, error);
  if (self)
    self->dir = g_steal_pointer (&dir);
  return self;
}

static gboolean
kiln_experiment_save_unchecked (KilnExperiment *self,
                      const char     *dir,
                      GError        **error)
{
  g_autoptr (JsonNode) root = kiln_experiment_to_json (self);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  gsize len;
  g_autofree char *text = json_generator_to_data (gen, &len);
  g_autofree char *file = g_build_filename (dir, "experiment.json", NULL);
  /* g_file_set_contents writes a temporary file and renames it: atomic */
  g_autoptr (GError) local = NULL;
  g_autofree char *with_nl = g_strconcat (text, "\n", NULL);
  if (!g_file_set_contents (file, with_nl, -1, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot save: %s", file,
                   local->message);
      return FALSE;
    }
  if (self->dir != dir)
    {
      g_free (self->dir);
      self->dir = g_strdup (dir);
    }
  return TRUE;
}

KilnExperiment *
kiln_experiment_load (const char  *path,
                      GError     **error)
{
  KilnExperiment *result = kiln_experiment_load_unchecked (path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_experiment_save (KilnExperiment *self,
                      const char     *dir,
                      GError        **error)
{
  gboolean result = kiln_experiment_save_unchecked (self, dir, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}
