/*
 * sim_proto.h - the wire between the driver's "sim:" transport and the
 * CCID reader simulator.
 *
 * A SOCK_SEQPACKET UNIX socket stands in for the USB cable: each packet is
 * one kind byte followed by its payload, so message boundaries are kept as
 * USB transfers keep them.
 *
 *   driver -> simulator
 *     SIM_INFO_REQUEST    -            ask for the device description
 *     SIM_BULK_OUT        CCID msg     one PC_to_RDR message
 *     SIM_ABORT           slot, seq    the class-specific ABORT request
 *     SIM_SUBSCRIBE       -            this connection is the interrupt pipe
 *   simulator -> driver
 *     SIM_INFO            description  the answer to SIM_INFO_REQUEST
 *     SIM_BULK_IN         CCID msg     one RDR_to_PC message
 *     SIM_INTERRUPT       CCID msg     NotifySlotChange or HardwareError
 *
 * The driver opens two connections: one for control and bulk transfers,
 * one subscribed to interrupts, so a thread can wait for card events while
 * another exchanges APDUs. Unplugging the simulated reader closes both.
 */
#ifndef ECARD_IFD_SIM_PROTO_H
#define ECARD_IFD_SIM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ccid.h"

#define SIM_INFO_REQUEST 0x00
#define SIM_BULK_OUT 0x01
#define SIM_ABORT 0x02
#define SIM_SUBSCRIBE 0x03
#define SIM_INFO 0x80
#define SIM_BULK_IN 0x82
#define SIM_INTERRUPT 0x83

/* Largest packet: a kind byte and the largest CCID message. */
#define SIM_MAX_PACKET (1 + CCID_MAX_MSG)

/*
 * The SIM_INFO payload: vendor, product, bcdDevice (little-endian 16-bit
 * each), interface number, has-interrupt flag, three strings each as a
 * length byte and its bytes (manufacturer, product, serial), and the
 * 54-byte CCID class descriptor.
 */
size_t sim_info_encode(const struct ifd_device_info *info, uint8_t *out, size_t cap);
int sim_info_decode(const uint8_t *buf, size_t len, struct ifd_device_info *info);

#endif
