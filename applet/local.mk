## applet/ - the card applications (DESIGN: use vcard, common).
noinst_LTLIBRARIES += libapplets.la
libapplets_la_CPPFLAGS = $(INC_COMMON) $(INC_VCARD) $(INC_APPLET)
libapplets_la_SOURCES = applet/applets.h applet/applets.c applet/diag.c applet/wallet.c \
	applet/profile.c
libapplets_la_LIBADD = libvcard.la
