/* kiln.h — libkiln, the science core of Kiln (GLib + libtiff + FFTW3f; no GTK, no GL)
 *
 * Include this one header. Each module's header is included when it exists, so the
 * umbrella does not have to change while modules are being added.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "kiln-error.h"
#include "kiln-alloc.h"
#include "kiln-progress.h"
#include "kiln-stats.h"
#include "kiln-image-stack.h"
#include "kiln-volume.h"


#if __has_include ("kiln-io.h")
# include "kiln-io.h"
#endif
#if __has_include ("kiln-tiff.h")
# include "kiln-tiff.h"
#endif
#if __has_include ("kiln-mrc.h")
# include "kiln-mrc.h"
#endif
#if __has_include ("kiln-dm.h")
# include "kiln-dm.h"
#endif
#if __has_include ("kiln-imod.h")
# include "kiln-imod.h"
#endif
#if __has_include ("kiln-csv.h")
# include "kiln-csv.h"
#endif
#if __has_include ("kiln-png.h")
# include "kiln-png.h"
#endif
#if __has_include ("kiln-json.h")
# include "kiln-json.h"
#endif
#if __has_include ("kiln-experiment.h")
# include "kiln-experiment.h"
#endif
#if __has_include ("kiln-fft.h")
# include "kiln-fft.h"
#endif
#if __has_include ("kiln-phantom.h")
# include "kiln-phantom.h"
#endif
#if __has_include ("kiln-simulate.h")
# include "kiln-simulate.h"
#endif
#if __has_include ("kiln-noise.h")
# include "kiln-noise.h"
#endif
#if __has_include ("kiln-bm3d.h")
# include "kiln-bm3d.h"
#endif
#if __has_include ("kiln-denoise-tune.h")
# include "kiln-denoise-tune.h"
#endif
#if __has_include ("kiln-transform.h")
# include "kiln-transform.h"
#endif
#if __has_include ("kiln-xcorr.h")
# include "kiln-xcorr.h"
#endif
#if __has_include ("kiln-mattes-mi.h")
# include "kiln-mattes-mi.h"
#endif
#if __has_include ("kiln-align.h")
# include "kiln-align.h"
#endif
#if __has_include ("kiln-backproject.h")
# include "kiln-backproject.h"
#endif
#if __has_include ("kiln-tilt-axis.h")
# include "kiln-tilt-axis.h"
#endif
#if __has_include ("kiln-projector.h")
# include "kiln-projector.h"
#endif
#if __has_include ("kiln-wbp.h")
# include "kiln-wbp.h"
#endif
#if __has_include ("kiln-sirt.h")
# include "kiln-sirt.h"
#endif
#if __has_include ("kiln-tv.h")
# include "kiln-tv.h"
#endif
#if __has_include ("kiln-reconstruct.h")
# include "kiln-reconstruct.h"
#endif
#if __has_include ("kiln-morphology.h")
# include "kiln-morphology.h"
#endif
#if __has_include ("kiln-edt.h")
# include "kiln-edt.h"
#endif
#if __has_include ("kiln-segment.h")
# include "kiln-segment.h"
#endif
#if __has_include ("kiln-watershed.h")
# include "kiln-watershed.h"
#endif
#if __has_include ("kiln-label.h")
# include "kiln-label.h"
#endif
#if __has_include ("kiln-track.h")
# include "kiln-track.h"
#endif
#if __has_include ("kiln-measure.h")
# include "kiln-measure.h"
#endif
#if __has_include ("kiln-neck-model.h")
# include "kiln-neck-model.h"
#endif
#if __has_include ("kiln-isosurface.h")
# include "kiln-isosurface.h"
#endif
#if __has_include ("kiln-pipeline.h")
# include "kiln-pipeline.h"
#endif
