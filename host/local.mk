## host/ - libecard and the ecard command line (DESIGN: use common).
lib_LTLIBRARIES += libecard.la
libecard_la_CPPFLAGS = $(INC_COMMON) $(INC_HOST)
libecard_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(LIBZIP_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
libecard_la_SOURCES = \
	host/error.c host/error.h \
	host/sw.c host/sw.h \
	host/pcsc.c host/pcsc.h \
	host/exchange.c host/exchange.h \
	host/amount.c host/amount.h \
	host/keyfile.c host/keyfile.h \
	host/issuer_keys.c host/issuer.c host/issuer.h \
	host/wallet.c host/wallet.h \
	host/pin_client.c host/pin_client.h \
	host/profile.c host/profile.h \
	host/merchant.c host/merchant.h \
	host/cap.c host/cap.h \
	host/scp02.c host/scp02.h \
	host/scp03_host.c host/scp03_host.h \
	host/gp_keys.c host/gp_keys.h \
	host/gp_session.c host/gp_session.h \
	host/gp_cmd.c host/gp_cmd.h host/gp.c host/gp.h \
	host/perso.c host/perso.h \
	host/seram.c host/seram.h \
	host/agent.c host/agent.h \
	host/pinentry.c host/pinentry.h
libecard_la_LIBADD = libcommoncrypto.la libcommon.la $(PCSC_LIBS) $(LIBZIP_LIBS) $(JANSSON_LIBS) \
	$(CURL_LIBS)
libecard_la_LDFLAGS = -version-info 0:0:0 $(AM_LDFLAGS)

ecardinclude_HEADERS += host/error.h host/sw.h host/pcsc.h host/exchange.h host/amount.h \
	host/keyfile.h host/issuer.h host/wallet.h host/pin_client.h host/profile.h \
	host/merchant.h host/cap.h host/scp02.h host/scp03_host.h host/gp_keys.h \
	host/gp_session.h host/gp_cmd.h host/gp.h host/perso.h host/seram.h host/agent.h \
	host/pinentry.h

## The agent's loopback endpoint for pages (ecard agent --listen), apart
## from libecard so that the library needs no HTTP server.
noinst_LTLIBRARIES += libecardlisten.la
libecardlisten_la_CPPFLAGS = $(INC_COMMON) $(INC_HOST)
libecardlisten_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS)
libecardlisten_la_SOURCES = host/agent_listen.c host/agent_listen.h
libecardlisten_la_LIBADD = libecard.la $(JANSSON_LIBS) $(MHD_LIBS) -lpthread

bin_PROGRAMS += ecard
ecard_CPPFLAGS = $(INC_COMMON) $(INC_HOST)
ecard_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
ecard_SOURCES = host/ecard.c host/cli.h host/cli_common.c host/pin_entry.c host/pin_entry.h \
	host/cli_wallet.c host/cli_issuer.c host/cli_pin.c host/cli_profile.c host/cli_cap.c \
	host/cli_gp.c host/cli_keys.c host/cli_agent.c
ecard_LDADD = libecardlisten.la libecard.la libcommoncrypto.la libcommon.la $(PCSC_LIBS)
