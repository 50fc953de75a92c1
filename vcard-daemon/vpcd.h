/*
 * vpcd.h - the card side of vsmartcard's vpcd protocol.
 *
 * vpcd runs inside pcscd as a reader driver and listens on a TCP port; a
 * virtual card connects to it. Both directions carry frames of a 2-byte
 * big-endian length and a payload. A 1-byte payload from vpcd is a control
 * code (power off, power on, reset, get ATR); anything longer is a C-APDU,
 * answered with one R-APDU frame.
 */
#ifndef VCARD_VPCD_H
#define VCARD_VPCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPCD_CTRL_OFF 0x00
#define VPCD_CTRL_ON 0x01
#define VPCD_CTRL_RESET 0x02
#define VPCD_CTRL_ATR 0x04
#define VPCD_MAX_FRAME 65535u	/* the length field is 16 bits */
#define VPCD_CONNECT_TIMEOUT_MS 2000u

struct vpcd_link {
	char host[256];
	char port[16];
	int fd;			/* -1 while disconnected */
	uint8_t in[2 + VPCD_MAX_FRAME];
	size_t in_len;
	unsigned backoff_ms;	/* delay before the next connection attempt */
};

void vpcd_init(struct vpcd_link *l, const char *host, const char *port);
/* One connection attempt, bounded in time and ended early when cancel_fd
 * (-1: none) is readable; 0 on success, -1 (errno set) otherwise. */
int vpcd_connect(struct vpcd_link *l, int cancel_fd);
void vpcd_disconnect(struct vpcd_link *l);

/*
 * Read what the socket has and hand every complete frame to on_frame.
 * Frames may arrive merged in one segment or split across several.
 * Returns 0 while the link is up, -1 when it was closed or failed (the
 * caller then disconnects and retries with back-off).
 */
int vpcd_receive(struct vpcd_link *l,
		 int (*on_frame)(void *arg, const uint8_t *frame, size_t len), void *arg);

/* Send one frame in a single write. */
int vpcd_send(struct vpcd_link *l, const uint8_t *data, size_t len);

#endif
