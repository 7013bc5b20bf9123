// SwiftPM builds a C target only from sources; the header is the whole point.
#include "CMalloc.h"
