// Umbrella header for the NATS C client (Debian package libnats-dev).
#include <nats/nats.h>

// Not in nats.h: the constructor nats.c itself uses for received messages. With hdrLen > 0 the first hdrLen bytes
// of buf are an encoded header block ("NATS/1.0\r\n", "Key: value\r\n" per header, "\r\n") that nats.c sends as is
// and parses only if a header is read; the rest is the payload. Exported by libnats 3.4.1 with this signature
// (src/msg.h, unchanged in later releases). Protoqueue uses it so that publishing does not build a header hash map
// per message (docs/queue.md, "Encoded headers").
natsStatus natsMsg_create(natsMsg **newMsg, const char *subject, int subjLen, const char *reply, int replyLen,
                          const char *buf, int bufLen, int hdrLen);
