## udev/ - the rules that give pcscd the readers ifd-ecard drives, made
## from the driver's list of supported readers.
udevrules_DATA = udev/92-ecard.rules
udev/92-ecard.rules: $(srcdir)/ifd/supported_readers.txt $(srcdir)/udev/gen-udev-rules.sh $(srcdir)/ifd/readers.awk
	$(AM_V_GEN)$(MKDIR_P) udev && \
	$(SHELL) $(srcdir)/udev/gen-udev-rules.sh $(srcdir)/ifd/supported_readers.txt \
		> $@.tmp && mv $@.tmp $@
CLEANFILES += udev/92-ecard.rules
EXTRA_DIST += udev/README.md udev/gen-udev-rules.sh
