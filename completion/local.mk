## completion/ - bash completion for ecard, ecard-vcard, ecard-ccid-sim and ecard-netfault.
## One script (ecard.bash) installed under each program's name, since
## bash-completion loads a completion by the name of the command.
## tests/completion.test drives it.
bashcompletion_DATA = completion/ecard completion/ecard-vcard completion/ecard-ccid-sim completion/ecard-netfault
CLEANFILES += $(bashcompletion_DATA)
EXTRA_DIST += completion/ecard.bash
completion/ecard completion/ecard-vcard completion/ecard-ccid-sim completion/ecard-netfault: $(srcdir)/completion/ecard.bash
	$(AM_V_GEN)$(MKDIR_P) completion && cp $(srcdir)/completion/ecard.bash $@
