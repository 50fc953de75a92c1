## systemd/ - a unit per card image for the virtual card daemon, sandboxed
## (its own dynamic user, the image in /var/lib/ecard, nothing else of the
## system). tests/systemd.test verifies it with systemd-analyze.
systemdsystemunit_DATA = systemd/ecard-vcard@.service
CLEANFILES += systemd/ecard-vcard@.service
EXTRA_DIST += systemd/ecard-vcard@.service.in
systemd/ecard-vcard@.service: $(srcdir)/systemd/ecard-vcard@.service.in
	$(AM_V_GEN)$(MKDIR_P) systemd && sed 's|@bindir[@]|$(bindir)|g' $(srcdir)/systemd/ecard-vcard@.service.in > $@
