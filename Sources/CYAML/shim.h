#ifndef LUMINATECTL_CYAML_SHIM_H
#define LUMINATECTL_CYAML_SHIM_H
#include <yaml.h>
#endif
