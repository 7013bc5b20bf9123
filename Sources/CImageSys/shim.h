#ifndef CIMAGESYS_SHIM_H
#define CIMAGESYS_SHIM_H
// What Skiff needs from C that Swift's Glibc module lacks: zlib for gzip'd layers and
// archives and SPDY header blocks, and extended attributes for unpacking (overlay opaque markers).
#include <zlib.h>
#include <sys/xattr.h>

/// inflateInit2 is a macro Swift cannot call; 15 + 32 accepts gzip and zlib headers.
static inline int skiff_inflate_init(z_streamp stream) {
    return inflateInit2(stream, 15 + 32);
}

/// SPDY/3 header blocks are plain zlib streams with a preset dictionary (no gzip
/// detection); inflateInit and deflateInit are macros too.
static inline int skiff_zlib_inflate_init(z_streamp stream) {
    return inflateInit(stream);
}
static inline int skiff_zlib_deflate_init(z_streamp stream, int level) {
    return deflateInit(stream, level);
}
#endif
