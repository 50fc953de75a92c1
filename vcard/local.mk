## vcard/ - libvcard, the card platform (DESIGN: uses common).
lib_LTLIBRARIES += libvcard.la
libvcard_la_CPPFLAGS = $(INC_COMMON) $(INC_VCARD)
libvcard_la_SOURCES = \
	vcard/storage.h vcard/storage_file.c vcard/storage_mem.c vcard/storage_tear.c \
	vcard/nvm.c vcard/nvm.h \
	vcard/apdu.c vcard/apdu.h \
	vcard/pin.c vcard/pin.h \
	vcard/card.c vcard/card.h vcard/applet.h \
	vcard/isd.c vcard/isd.h vcard/isd_content.c vcard/isd_internal.h \
	vcard/scp03_card.c vcard/scp03_card.h \
	vcard/t0_card.c vcard/t0_card.h
libvcard_la_LIBADD = libcommoncrypto.la libcommon.la
libvcard_la_LDFLAGS = -version-info 0:0:0 $(AM_LDFLAGS)

ecardinclude_HEADERS += vcard/applet.h vcard/card.h vcard/nvm.h vcard/apdu.h vcard/isd.h \
	vcard/pin.h vcard/storage.h vcard/scp03_card.h
