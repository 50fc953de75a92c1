## man/ - the manual pages, written for scdoc; `make` turns each into a
## roff page and `make install` installs it. tests/man.test checks every
## option of each program's --help against its page.
SCDOC_PAGES = man/ecard.1.scd man/ecard-vcard.1.scd man/ecard-ccid-sim.1.scd \
	man/ifd-ecard.8.scd man/ecard-server.1.scd man/ecard-netfault.1.scd man/ecard-shop.1.scd
EXTRA_DIST += $(SCDOC_PAGES)
if HAVE_SCDOC
man_MANS = man/ecard.1 man/ecard-vcard.1 man/ecard-ccid-sim.1 man/ifd-ecard.8 man/ecard-server.1 man/ecard-netfault.1 \
	man/ecard-shop.1
CLEANFILES += $(man_MANS)
SCDOC_GEN = $(AM_V_GEN)$(MKDIR_P) man && $(SCDOC) < $< > $@.tmp && mv $@.tmp $@
man/ecard.1: $(srcdir)/man/ecard.1.scd
	$(SCDOC_GEN)
man/ecard-vcard.1: $(srcdir)/man/ecard-vcard.1.scd
	$(SCDOC_GEN)
man/ecard-ccid-sim.1: $(srcdir)/man/ecard-ccid-sim.1.scd
	$(SCDOC_GEN)
man/ifd-ecard.8: $(srcdir)/man/ifd-ecard.8.scd
	$(SCDOC_GEN)
man/ecard-server.1: $(srcdir)/man/ecard-server.1.scd
	$(SCDOC_GEN)
man/ecard-netfault.1: $(srcdir)/man/ecard-netfault.1.scd
	$(SCDOC_GEN)
man/ecard-shop.1: $(srcdir)/man/ecard-shop.1.scd
	$(SCDOC_GEN)
endif
