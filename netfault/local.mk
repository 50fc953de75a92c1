## netfault/ - ecard-netfault, a TCP proxy that makes network faults on
## purpose (DESIGN §6: uses common). Test equipment, installed for the
## people who test their own SERAM agents and servers.
noinst_LTLIBRARIES += libnetfault.la
libnetfault_la_CPPFLAGS = $(INC_COMMON) $(INC_NETFAULT)
libnetfault_la_SOURCES = netfault/netfault.c netfault/netfault.h

bin_PROGRAMS += ecard-netfault
ecard_netfault_CPPFLAGS = $(INC_COMMON) $(INC_NETFAULT)
ecard_netfault_SOURCES = netfault/main.c
ecard_netfault_LDADD = libnetfault.la libdaemon.la libcommoncrypto.la libcommon.la
