## ccid-sim/ - ecard-ccid-sim, a simulated USB CCID reader holding libvcard
## cards (DESIGN: uses vcard, applet, the driver's codecs in ifd/codec,
## common). Test equipment, installed for the people who test drivers.
noinst_LTLIBRARIES += libccidsim.la
CCID_SIM_CPPFLAGS = $(INC_COMMON) $(INC_VCARD) $(INC_APPLET) $(INC_IFD_CODEC) $(INC_CCID_SIM)
libccidsim_la_CPPFLAGS = $(CCID_SIM_CPPFLAGS)
libccidsim_la_SOURCES = ccid-sim/ccid_sim.c ccid-sim/ccid_sim.h \
	ccid-sim/t1_card.c ccid-sim/t1_card.h

bin_PROGRAMS += ecard-ccid-sim
ecard_ccid_sim_CPPFLAGS = $(CCID_SIM_CPPFLAGS)
ecard_ccid_sim_SOURCES = ccid-sim/main.c
ecard_ccid_sim_LDADD = libdaemon.la libccidsim.la libapplets.la libvcard.la libifdcodec.la libcommoncrypto.la libcommon.la
