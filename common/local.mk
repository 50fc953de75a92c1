## common/ - what every part shares (DESIGN: uses nothing).
##
## libcommon: the units without OpenSSL (cursor, log, hex, sockets, the
## control protocol, the deterministic generator of fault plans); the
## reader driver, loaded into pcscd, links only these.
## libcommoncrypto: the crypto module and what is built on it.
## The wire-protocol headers (iso7816.h, wallet_proto.h, profile_proto.h,
## diag_proto.h, gp_proto.h) have no code.
noinst_LTLIBRARIES += libcommon.la libcommoncrypto.la
libcommon_la_CPPFLAGS = $(INC_COMMON)
libcommon_la_SOURCES = \
	common/cursor.c common/cursor.h \
	common/log.c common/log.h \
	common/hex.c common/hex.h \
	common/unix_socket.c common/unix_socket.h \
	common/control.c common/control.h \
	common/prng.c common/prng.h \
	common/utf8.c common/utf8.h \
	common/apdu_trace.c common/apdu_trace.h \
	common/port_file.c common/port_file.h \
	common/iso7816.h common/gp_proto.h common/wallet_proto.h common/profile_proto.h \
	common/diag_proto.h

## libdaemon: the plumbing the two daemons share (options, stop signals);
## apart from libcommon so that no library carries it.
noinst_LTLIBRARIES += libdaemon.la
libdaemon_la_CPPFLAGS = $(INC_COMMON)
libdaemon_la_SOURCES = common/daemon.c common/daemon.h

libcommoncrypto_la_CPPFLAGS = $(INC_COMMON)
libcommoncrypto_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
libcommoncrypto_la_SOURCES = \
	common/crypto.c common/crypto.h \
	common/purse.c common/purse.h \
	common/javacard.c common/javacard.h \
	common/scp03.c common/scp03.h
libcommoncrypto_la_LIBADD = $(CRYPTO_LIBS)

ecardinclude_HEADERS += common/cursor.h common/log.h common/crypto.h common/purse.h \
	common/scp03.h common/javacard.h common/iso7816.h common/gp_proto.h \
	common/wallet_proto.h common/profile_proto.h common/diag_proto.h
