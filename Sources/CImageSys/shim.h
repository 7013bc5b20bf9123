#ifndef CIMAGESYS_SHIM_H
#define CIMAGESYS_SHIM_H
// What the image store needs from C that Swift's Glibc module lacks: zlib for gzip'd
// layers and archives, and extended attributes for unpacking (overlay opaque markers).
#include <zlib.h>
#include <sys/xattr.h>

/// inflateInit2 is a macro Swift cannot call; 15 + 32 accepts gzip and zlib headers.
static inline int skiff_inflate_init(z_streamp stream) {
    return inflateInit2(stream, 15 + 32);
}
#endif
