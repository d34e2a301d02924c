#ifndef PROTOQUEUE_CNATS_SHIM_H
#define PROTOQUEUE_CNATS_SHIM_H

// This header does not include nats.h: a header included by two modules (CNats and this one) may have its
// declarations attributed to either, and a Swift file importing only CNats then cannot see natsStatus values.
// struct __natsMsg is nats.h's natsMsg; the function returns a natsStatus as an int.
struct __natsMsg;

// natsMsg_create is the constructor nats.c itself uses for received messages, exported by libnats 3.4.1 but not
// declared in nats.h. With hdrLen > 0 the first hdrLen bytes of buf are an encoded header block ("NATS/1.0\r\n",
// "Key: value\r\n" per header, "\r\n") that nats.c sends as is; the rest is the payload.
typedef int (*protoqueue_natsMsg_create_fn)(struct __natsMsg **newMsg, const char *subject, int subjLen,
                                            const char *reply, int replyLen, const char *buf, int bufLen,
                                            int hdrLen);

// natsMsg_create as found in the loaded libnats at run time, or NULL when this libnats does not export it.
protoqueue_natsMsg_create_fn protoqueue_natsMsg_create(void);

#endif
