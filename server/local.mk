## server/ - ecard-server, the issuer's GP SERAM remote agent and job
## queue (DESIGN: uses host and common). Its logic is a convenience
## library so that the tests run it in process.
noinst_LTLIBRARIES += libecardserver.la
libecardserver_la_CPPFLAGS = $(INC_COMMON) $(INC_HOST) $(INC_SERVER)
libecardserver_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(LIBZIP_CFLAGS) $(JANSSON_CFLAGS) \
	$(MHD_CFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS) $(ARGON2_CFLAGS)
libecardserver_la_SOURCES = \
	server/store.c server/store.h server/store_sqlite.c server/store_postgresql.c \
	server/db.c server/db.h server/files.c server/files.h \
	server/ota.c server/ota.h server/topup.c server/topup.h \
	server/perso_job.c server/perso_job.h \
	server/ledger.c server/ledger.h server/cards.c server/cards.h \
	server/settle.c server/settle.h server/holders.c server/holders.h \
	server/web.c server/web.h server/centre.c \
	server/http.c server/http.h
libecardserver_la_LIBADD = libecard.la $(JANSSON_LIBS) $(MHD_LIBS) $(SQLITE_LIBS) $(PQ_LIBS) \
	$(ARGON2_LIBS) -lpthread

bin_PROGRAMS += ecard-server
ecard_server_CPPFLAGS = $(INC_COMMON) $(INC_HOST) $(INC_SERVER)
ecard_server_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(JANSSON_CFLAGS)
ecard_server_SOURCES = server/main.c server/cli_centre.c server/server_cli.h
ecard_server_LDADD = libecardserver.la libecard.la libcommoncrypto.la libcommon.la $(JANSSON_LIBS)
