#define _GNU_SOURCE
#include <dlfcn.h>

#include "CNatsShim.h"

protoqueue_natsMsg_create_fn protoqueue_natsMsg_create(void) {
    // Looked up, not linked: a libnats without the symbol still loads, and callers use the public constructor.
    return (protoqueue_natsMsg_create_fn)dlsym(RTLD_DEFAULT, "natsMsg_create");
}
