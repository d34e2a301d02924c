// Umbrella header for the NATS C client (Debian package libnats-dev).
#include <nats/nats.h>
