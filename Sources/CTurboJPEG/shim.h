#ifndef LAVIT_CTURBOJPEG_SHIM_H
#define LAVIT_CTURBOJPEG_SHIM_H

// JPEG goes through the TurboJPEG API rather than libjpeg's: TurboJPEG catches libjpeg's
// longjmp-based errors inside the library and reports them as return codes, so no longjmp can
// cross a Swift frame.
#include <turbojpeg.h>

#endif
