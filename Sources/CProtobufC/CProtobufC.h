// Umbrella header for the protobuf-c runtime (Debian package libprotobuf-c-dev).
#include <protobuf-c/protobuf-c.h>
