## vcard-daemon/ - ecard-vcard, a virtual card behind vpcd (DESIGN: uses
## vcard, applet, common, and host for factory personalization).
##
## libvcardfront: the front-ends that put a libvcard card somewhere else:
## behind vpcd (vpcd.c), into QEMU's USB CCID reader (vscard.c, with the
## socket helpers both share in net.c), and under libecard's transport in
## the same process (inproc.c), which factory personalization, unit tests
## and the in-process benchmark use.
noinst_LTLIBRARIES += libvcardfront.la
VCARD_DAEMON_CPPFLAGS = $(INC_COMMON) $(INC_VCARD) $(INC_APPLET) $(INC_HOST) $(INC_VCARD_DAEMON)
libvcardfront_la_CPPFLAGS = $(VCARD_DAEMON_CPPFLAGS)
libvcardfront_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
libvcardfront_la_SOURCES = vcard-daemon/vpcd.c vcard-daemon/vpcd.h \
	vcard-daemon/vscard.c vcard-daemon/vscard.h \
	vcard-daemon/net.c vcard-daemon/net.h \
	vcard-daemon/inproc.c vcard-daemon/inproc.h

bin_PROGRAMS += ecard-vcard
ecard_vcard_CPPFLAGS = $(VCARD_DAEMON_CPPFLAGS)
ecard_vcard_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
## The PIN and the PUK of a new card are read from descriptors as ecard
## reads its PINs: with ecard's reader, which is no part of libecard.
ecard_vcard_SOURCES = vcard-daemon/main.c host/pin_entry.c host/pin_entry.h
ecard_vcard_LDADD = libdaemon.la libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la \
	$(PCSC_LIBS)
