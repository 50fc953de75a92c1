## ifd/ - ifd-ecard, the pcsc-lite reader driver (DESIGN: uses common).
##
## libifdcodec: the pure codecs in ifd/codec/ (CCID messages and class
## descriptor, ATR and PPS, T=1 blocks, the simulator's wire), which the
## CCID reader simulator shares. libifd: every other unit but the API
## surface, for the unit tests. The bundle pcscd loads exports only the
## IFDH* symbols (the map), so that pcscd's own log_msg and ours never
## meet; it links no crypto.
noinst_LTLIBRARIES += libifdcodec.la libifd.la
libifdcodec_la_CPPFLAGS = $(INC_COMMON) $(INC_IFD_CODEC)
libifdcodec_la_SOURCES = \
	ifd/codec/atr.c ifd/codec/atr.h \
	ifd/codec/ccid.c ifd/codec/ccid.h \
	ifd/codec/t1_block.c ifd/codec/t1_block.h \
	ifd/codec/sim_proto.c ifd/codec/sim_proto.h

libifd_la_CPPFLAGS = $(INC_COMMON) $(INC_IFD_CODEC) $(INC_IFD)
libifd_la_CFLAGS = $(AM_CFLAGS) $(LIBUSB_CFLAGS)
libifd_la_SOURCES = \
	ifd/t1.c ifd/t1.h \
	ifd/commands.c ifd/commands.h \
	ifd/slot.c ifd/slot.h \
	ifd/transport.c ifd/transport.h ifd/transport_sim.c \
	ifd/usb_name.c ifd/usb_name.h ifd/ccid_usb.c
libifd_la_LIBADD = $(LIBUSB_LIBS) -lpthread

ifdbundledir = $(usbdropdir)/ifd-ecard.bundle/Contents/Linux
ifdbundle_LTLIBRARIES = libifd-ecard.la
libifd_ecard_la_CPPFLAGS = $(INC_COMMON) $(INC_IFD_CODEC) $(INC_IFD)
libifd_ecard_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
libifd_ecard_la_SOURCES = ifd/ifdhandler.c
libifd_ecard_la_LIBADD = libifd.la libifdcodec.la libcommon.la
libifd_ecard_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-Wl,--version-script=$(srcdir)/ifd/ifd-ecard.map $(AM_LDFLAGS)
EXTRA_libifd_ecard_la_DEPENDENCIES = $(srcdir)/ifd/ifd-ecard.map

ifdplistdir = $(usbdropdir)/ifd-ecard.bundle/Contents
ifdplist_DATA = ifd/Info.plist
ifd/Info.plist: $(srcdir)/ifd/supported_readers.txt $(srcdir)/ifd/gen-info-plist.sh $(srcdir)/ifd/readers.awk
	$(AM_V_GEN)$(MKDIR_P) ifd && \
	$(SHELL) $(srcdir)/ifd/gen-info-plist.sh $(srcdir)/ifd/supported_readers.txt \
		libifd-ecard.so $(PACKAGE_VERSION) > $@.tmp && mv $@.tmp $@
CLEANFILES += ifd/Info.plist

## libtool's .la file has no use in pcscd's drop directory (the bundle
## directory is not an exec dir for automake: the data hooks apply), and
## without it libtool's uninstall would leave the library behind.
install-data-hook:
	rm -f $(DESTDIR)$(ifdbundledir)/libifd-ecard.la
uninstall-hook:
	rm -f $(DESTDIR)$(ifdbundledir)/libifd-ecard.so
	-rmdir $(DESTDIR)$(ifdbundledir) $(DESTDIR)$(ifdplistdir) \
		$(DESTDIR)$(usbdropdir)/ifd-ecard.bundle 2>/dev/null

EXTRA_DIST += ifd/README.md ifd/ifd-ecard.map ifd/supported_readers.txt \
	ifd/gen-info-plist.sh ifd/readers.awk
