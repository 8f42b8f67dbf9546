#ifndef TURNPIKE_CYAML_SHIM_H
#define TURNPIKE_CYAML_SHIM_H
#include <yaml.h>
#endif
