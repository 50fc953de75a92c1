/*
 * vscard.h - the card side of the VSCard protocol, with which a process
 * puts a smart card into QEMU's emulated USB CCID reader.
 *
 * QEMU's "-device usb-ccid" is a reader on the guest's USB bus; its card
 * is a "ccid-card-passthru" device that relays the reader's traffic over
 * a character device (a TCP or UNIX socket) in the VSCard protocol of
 * libcacard. QEMU is the server of that socket; we connect to it.
 *
 * A message is a 12-byte header - type, reader id, payload length, each a
 * 32-bit big-endian number - and the payload. We send Init, then ReaderAdd
 * once QEMU has answered with its own Init, then the card's ATR (the card
 * is inserted); QEMU passes every XfrBlock of the guest's driver to us as
 * an APDU message, and the APDU message we send back (data and status
 * word) becomes the reader's DataBlock. CardRemove takes the card out, a
 * new ATR puts it back. QEMU answers ReaderAdd, ATR and CardRemove with an
 * Error message whose code 0 means success.
 *
 * QEMU sends the payload of XfrBlock as it is: its reader works at TPDU
 * level, so for a T=0 card (the only protocol QEMU 7.2's reader declares)
 * the card receives T=0 TPDUs (vcard/t0_card.h turns them into APDUs).
 * Nothing tells the card about the guest's power-on or power-off: it is
 * powered from insertion to removal.
 */
#ifndef VCARD_VSCARD_H
#define VCARD_VSCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSC_INIT 1
#define VSC_ERROR 2
#define VSC_READER_ADD 3
#define VSC_READER_REMOVE 4
#define VSC_ATR 5
#define VSC_CARD_REMOVE 6
#define VSC_APDU 7
#define VSC_FLUSH 8
#define VSC_FLUSH_COMPLETE 9

/* The Error message's code. */
#define VSC_SUCCESS 0
#define VSC_GENERAL_ERROR 1
#define VSC_CANNOT_ADD_MORE_READERS 2
#define VSC_CARD_ALREADY_INSERTED 3

#define VSCARD_READER 0u	/* the one reader we add */
#define VSCARD_NO_READER 0xFFFFFFFFu
#define VSCARD_MAGIC "VSCD"
#define VSCARD_VERSION 2u
#define VSCARD_HEADER_LEN 12u
/* QEMU refuses an ATR longer than this. */
#define VSCARD_MAX_ATR 40u
/* The largest payload we take: QEMU's own receive buffer is 64 KiB, and a
 * reader message holds no more. */
#define VSCARD_MAX_PAYLOAD 65536u

struct vscard_msg {
	uint32_t type;
	uint32_t reader;
	uint32_t len;
	const uint8_t *data;
};

/* The name of a message type ("APDU"), "unknown" otherwise. */
const char *vscard_type_name(uint32_t type);

/*
 * The first message of buf (len bytes): its length in bytes (> 0) with
 * *m filled, 0 when buf does not hold a whole message yet, -1 when the
 * header announces more than VSCARD_MAX_PAYLOAD (the stream is lost).
 */
long vscard_decode(const uint8_t *buf, size_t len, struct vscard_msg *m);

/* Header and payload into out (cap bytes); the length, or 0 if too long. */
size_t vscard_encode(uint32_t type, uint32_t reader, const uint8_t *data, size_t len,
		     uint8_t *out, size_t cap);

/* Init's payload: magic, version, no capabilities (12 bytes). */
size_t vscard_init_payload(uint8_t out[12]);

struct vscard_link {
	bool unix_socket;
	char host[256];		/* or the socket's path */
	char port[16];
	int fd;			/* -1 while disconnected */
	uint8_t in[VSCARD_HEADER_LEN + VSCARD_MAX_PAYLOAD];
	size_t in_len;
	unsigned backoff_ms;
};

/* "HOST:PORT", "[v6]:PORT", "PORT" (on 127.0.0.1) or "unix:PATH". */
bool vscard_parse_address(const char *spec, struct vscard_link *l);
void vscard_init(struct vscard_link *l);
/* One connection attempt, bounded by timeout_ms and ended early when
 * cancel_fd (-1: none) is readable; 0, or -1 with errno. */
int vscard_connect(struct vscard_link *l, unsigned timeout_ms, int cancel_fd);
void vscard_disconnect(struct vscard_link *l);
/* "127.0.0.1:2001" or "unix:PATH", for messages. */
const char *vscard_address(const struct vscard_link *l, char *buf, size_t cap);

/*
 * Read what the socket has and hand every whole message to on_msg, in
 * order. 0 while the link is up, -1 when it closed, failed, carried a
 * message too long, or on_msg returned non-zero.
 */
int vscard_receive(struct vscard_link *l,
		   int (*on_msg)(void *arg, const struct vscard_msg *m), void *arg);

/* Send one message in one write. */
int vscard_send(struct vscard_link *l, uint32_t type, uint32_t reader, const uint8_t *data,
		size_t len);

#endif
