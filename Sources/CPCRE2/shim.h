#ifndef TURNPIKE_CPCRE2_SHIM_H
#define TURNPIKE_CPCRE2_SHIM_H

// The router matches byte paths: use the 8-bit code unit library (libpcre2-8).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#endif
