#ifndef PROTOQUEUE_CNATS_SHIM_H
#define PROTOQUEUE_CNATS_SHIM_H

// nats.h is deliberately not included: a Swift file importing this module next to CNats would otherwise see the
// nats.c declarations owned by either module, depending on which compile batch it lands in (then "cannot find
// NATS_OK in scope" under MemberImportVisibility). The status is returned as an int (natsStatus is an int-sized
// enum); natsMsg is the same incomplete struct nats.h declares.
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
