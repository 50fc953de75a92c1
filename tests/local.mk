## tests/ - mirrors the source folders: tests/unit/FOLDER/test_MODULE.c
## tests that folder's MODULE.c. Integration tests start a private pcscd
## (with vpcd or the driver against the CCID simulator) and run the
## programs; fuzz runs the driver's codecs, the card and the host's parsers
## for a bounded time; bench is `make bench`. Tests may use every folder.
TEST_CPPFLAGS = $(INC_COMMON) $(INC_VCARD) $(INC_APPLET) $(INC_IFD_CODEC) $(INC_IFD) \
	$(INC_HOST) $(INC_VCARD_DAEMON) $(INC_CCID_SIM) -I$(top_srcdir)/tests/support \
	-DTEST_DATA_DIR='"$(abs_top_srcdir)/tests/data"'
TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(PCSC_CFLAGS) $(LIBZIP_CFLAGS)
TEST_LIBS = $(PCSC_LIBS) $(LIBZIP_LIBS) $(CRITERION_LIBS)

## What the tests share: exactly sized copies, temporary directories, the
## data path (test_support), a card in process behind libecard's transport
## (host_fixture), and CAP files made to measure (capgen).
check_LTLIBRARIES = libtestsupport.la libcapgen.la
libtestsupport_la_CPPFLAGS = $(TEST_CPPFLAGS)
libtestsupport_la_CFLAGS = $(TEST_CFLAGS)
libtestsupport_la_SOURCES = tests/support/test_support.c tests/support/test_support.h \
	tests/support/host_fixture.c tests/support/host_fixture.h \
	tests/support/fake_card.c tests/support/fake_card.h
libcapgen_la_CPPFLAGS = $(TEST_CPPFLAGS)
libcapgen_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(LIBZIP_CFLAGS)
libcapgen_la_SOURCES = tests/support/capgen.c tests/support/capgen.h

EXTRA_DIST += tests/data/README.md tests/data/gp-scp.txt \
	tests/data/Empty_0102030405_8d5ac9e2_2.2.1.cap \
	tests/demo.sh tests/layering.sh tests/layering.test tests/man.test tests/completion.test \
	tests/systemd.test

UNIT_TESTS = \
	tests/unit/common/test_cursor \
	tests/unit/common/test_crypto \
	tests/unit/common/test_purse \
	tests/unit/common/test_control \
	tests/unit/common/test_daemon \
	tests/unit/common/test_prng \
	tests/unit/vcard/test_apdu \
	tests/unit/vcard/test_nvm \
	tests/unit/vcard/test_tear \
	tests/unit/vcard/test_pin \
	tests/unit/vcard/test_card \
	tests/unit/vcard/test_applet_api \
	tests/unit/vcard/test_isd \
	tests/unit/applet/test_wallet \
	tests/unit/applet/test_wallet_tear \
	tests/unit/applet/test_profile \
	tests/unit/host/test_error \
	tests/unit/host/test_pcsc \
	tests/unit/host/test_exchange \
	tests/unit/host/test_amount \
	tests/unit/host/test_keyfile \
	tests/unit/host/test_issuer \
	tests/unit/host/test_wallet \
	tests/unit/host/test_pin_client \
	tests/unit/host/test_profile \
	tests/unit/host/test_merchant \
	tests/unit/host/test_cap \
	tests/unit/host/test_scp \
	tests/unit/host/test_perso \
	tests/unit/host/test_gp \
	tests/unit/ifd/codec/test_atr \
	tests/unit/ifd/codec/test_ccid \
	tests/unit/ifd/codec/test_t1_block \
	tests/unit/ifd/test_t1 \
	tests/unit/ifd/test_usb_name \
	tests/unit/ifd/test_slot \
	tests/unit/vcard-daemon/test_vpcd \
	tests/unit/vcard-daemon/test_main \
	tests/unit/vcard-daemon/test_vscard \
	tests/unit/vcard/test_t0_card \
	tests/unit/ccid-sim/test_ccid_sim \
	tests/unit/server/test_ota tests/unit/server/test_topup tests/unit/server/test_settle \
	tests/unit/server/test_centre tests/unit/server/test_issue tests/unit/server/test_shop \
	tests/unit/netfault/test_netfault

## --- unit tests, one program per module ---


## common/
tests_unit_common_test_cursor_SOURCES = tests/unit/common/test_cursor.c
tests_unit_common_test_cursor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_common_test_cursor_CFLAGS = $(TEST_CFLAGS)
tests_unit_common_test_cursor_LDADD = libtestsupport.la libcommon.la $(TEST_LIBS)
tests_unit_common_test_crypto_SOURCES = tests/unit/common/test_crypto.c
tests_unit_common_test_crypto_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_common_test_crypto_CFLAGS = $(TEST_CFLAGS)
tests_unit_common_test_crypto_LDADD = libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_common_test_purse_SOURCES = tests/unit/common/test_purse.c
tests_unit_common_test_purse_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_common_test_purse_CFLAGS = $(TEST_CFLAGS)
tests_unit_common_test_purse_LDADD = libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_common_test_control_SOURCES = tests/unit/common/test_control.c
tests_unit_common_test_control_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_common_test_control_CFLAGS = $(TEST_CFLAGS)
tests_unit_common_test_control_LDADD = libtestsupport.la libcommon.la $(TEST_LIBS)
tests_unit_common_test_daemon_SOURCES = tests/unit/common/test_daemon.c
tests_unit_common_test_daemon_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_common_test_daemon_CFLAGS = $(TEST_CFLAGS)
tests_unit_common_test_daemon_LDADD = libdaemon.la libcommon.la $(TEST_LIBS)
tests_unit_common_test_prng_SOURCES = tests/unit/common/test_prng.c
tests_unit_common_test_prng_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_common_test_prng_CFLAGS = $(TEST_CFLAGS)
tests_unit_common_test_prng_LDADD = libcommon.la $(TEST_LIBS)

## vcard/
tests_unit_vcard_test_apdu_SOURCES = tests/unit/vcard/test_apdu.c
tests_unit_vcard_test_apdu_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_test_apdu_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_test_apdu_LDADD = libvcard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_vcard_test_nvm_SOURCES = tests/unit/vcard/test_nvm.c
tests_unit_vcard_test_nvm_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_test_nvm_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_test_nvm_LDADD = libvcard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_vcard_test_tear_SOURCES = tests/unit/vcard/test_tear.c
tests_unit_vcard_test_tear_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_test_tear_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_test_tear_LDADD = libtestsupport.la libvcard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_vcard_test_pin_SOURCES = tests/unit/vcard/test_pin.c
tests_unit_vcard_test_pin_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_test_pin_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_test_pin_LDADD = libapplets.la libvcard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_vcard_test_card_SOURCES = tests/unit/vcard/test_card.c
tests_unit_vcard_test_card_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_test_card_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_test_card_LDADD = libtestsupport.la libapplets.la libvcard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_vcard_test_applet_api_SOURCES = tests/unit/vcard/test_applet_api.c
tests_unit_vcard_test_applet_api_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_test_applet_api_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_test_applet_api_LDADD = libvcard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_vcard_test_isd_SOURCES = tests/unit/vcard/test_isd.c
tests_unit_vcard_test_isd_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_test_isd_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_test_isd_LDADD = libtestsupport.la libcapgen.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)

## applet/
tests_unit_applet_test_wallet_SOURCES = tests/unit/applet/test_wallet.c tests/unit/applet/wallet_fixture.h
tests_unit_applet_test_wallet_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_applet_test_wallet_CFLAGS = $(TEST_CFLAGS)
tests_unit_applet_test_wallet_LDADD = libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_applet_test_wallet_tear_SOURCES = tests/unit/applet/test_wallet_tear.c tests/unit/applet/wallet_fixture.h
tests_unit_applet_test_wallet_tear_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_applet_test_wallet_tear_CFLAGS = $(TEST_CFLAGS)
tests_unit_applet_test_wallet_tear_LDADD = libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_applet_test_profile_SOURCES = tests/unit/applet/test_profile.c tests/unit/applet/wallet_fixture.h
tests_unit_applet_test_profile_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_applet_test_profile_CFLAGS = $(TEST_CFLAGS)
tests_unit_applet_test_profile_LDADD = libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)

## host/
tests_unit_host_test_error_SOURCES = tests/unit/host/test_error.c
tests_unit_host_test_error_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_error_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_error_LDADD = libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_exchange_SOURCES = tests/unit/host/test_exchange.c
tests_unit_host_test_exchange_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_exchange_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_exchange_LDADD = libtestsupport.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_pcsc_SOURCES = tests/unit/host/test_pcsc.c
tests_unit_host_test_pcsc_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_pcsc_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_pcsc_LDADD = libtestsupport.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_amount_SOURCES = tests/unit/host/test_amount.c
tests_unit_host_test_amount_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_amount_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_amount_LDADD = libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_keyfile_SOURCES = tests/unit/host/test_keyfile.c
tests_unit_host_test_keyfile_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_keyfile_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_keyfile_LDADD = libtestsupport.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_issuer_SOURCES = tests/unit/host/test_issuer.c
tests_unit_host_test_issuer_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_issuer_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_issuer_LDADD = libtestsupport.la libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_pin_client_SOURCES = tests/unit/host/test_pin_client.c
tests_unit_host_test_pin_client_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_pin_client_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_pin_client_LDADD = libtestsupport.la libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_profile_SOURCES = tests/unit/host/test_profile.c
tests_unit_host_test_profile_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_profile_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_profile_LDADD = libtestsupport.la libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_merchant_SOURCES = tests/unit/host/test_merchant.c
tests_unit_host_test_merchant_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_merchant_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_merchant_LDADD = libtestsupport.la libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_wallet_SOURCES = tests/unit/host/test_wallet.c
tests_unit_host_test_wallet_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_wallet_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_wallet_LDADD = libtestsupport.la libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_cap_SOURCES = tests/unit/host/test_cap.c
tests_unit_host_test_cap_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_cap_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_cap_LDADD = libtestsupport.la libcapgen.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_scp_SOURCES = tests/unit/host/test_scp.c
tests_unit_host_test_scp_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_scp_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_scp_LDADD = libtestsupport.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_perso_SOURCES = tests/unit/host/test_perso.c
tests_unit_host_test_perso_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_perso_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_perso_LDADD = libtestsupport.la libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_unit_host_test_gp_SOURCES = tests/unit/host/test_gp.c
tests_unit_host_test_gp_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_host_test_gp_CFLAGS = $(TEST_CFLAGS)
tests_unit_host_test_gp_LDADD = libtestsupport.la libcapgen.la libvcardfront.la libapplets.la libvcard.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)

## server/
OTA_FIXTURE = tests/unit/server/ota_fixture.c tests/unit/server/ota_fixture.h
tests_unit_server_test_ota_SOURCES = tests/unit/server/test_ota.c $(OTA_FIXTURE)
tests_unit_server_test_ota_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER)
tests_unit_server_test_ota_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_server_test_ota_LDADD = libtestsupport.la libcapgen.la libvcardfront.la libapplets.la libvcard.la \
	libecardserver.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)

tests_unit_server_test_topup_SOURCES = tests/unit/server/test_topup.c $(OTA_FIXTURE)
tests_unit_server_test_topup_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER)
tests_unit_server_test_topup_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_server_test_topup_LDADD = $(tests_unit_server_test_ota_LDADD)

WEB_CLIENT = tests/unit/server/web_client.c tests/unit/server/web_client.h
tests_unit_server_test_centre_SOURCES = tests/unit/server/test_centre.c $(OTA_FIXTURE) $(WEB_CLIENT)
tests_unit_server_test_centre_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER)
tests_unit_server_test_centre_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
tests_unit_server_test_centre_LDADD = $(tests_unit_server_test_ota_LDADD) $(CURL_LIBS)

tests_unit_server_test_shop_SOURCES = tests/unit/server/test_shop.c $(WEB_CLIENT)
tests_unit_server_test_shop_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER) $(INC_SHOP) \
	-DFAKE_PINENTRY='"$(abs_top_builddir)/tests/support/fake-pinentry"'
tests_unit_server_test_shop_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
tests_unit_server_test_shop_LDADD = libtestsupport.la libvcardfront.la libapplets.la libvcard.la \
	libecardlisten.la libecardshop.la libecardserver.la libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS) $(CURL_LIBS)

tests_unit_server_test_issue_SOURCES = tests/unit/server/test_issue.c $(OTA_FIXTURE)
tests_unit_server_test_issue_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER)
tests_unit_server_test_issue_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_server_test_issue_LDADD = $(tests_unit_server_test_ota_LDADD)

tests_unit_server_test_settle_SOURCES = tests/unit/server/test_settle.c
tests_unit_server_test_settle_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER) $(INC_VCARD_DAEMON)
tests_unit_server_test_settle_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_server_test_settle_LDADD = $(tests_unit_server_test_ota_LDADD)

## netfault/
tests_unit_netfault_test_netfault_SOURCES = tests/unit/netfault/test_netfault.c
tests_unit_netfault_test_netfault_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_NETFAULT)
tests_unit_netfault_test_netfault_CFLAGS = $(TEST_CFLAGS)
tests_unit_netfault_test_netfault_LDADD = libtestsupport.la libnetfault.la libcommoncrypto.la libcommon.la \
	$(TEST_LIBS) -lpthread

## ifd/ and ifd/codec/
tests_unit_ifd_codec_test_atr_SOURCES = tests/unit/ifd/codec/test_atr.c
tests_unit_ifd_codec_test_atr_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_ifd_codec_test_atr_CFLAGS = $(TEST_CFLAGS)
tests_unit_ifd_codec_test_atr_LDADD = libtestsupport.la libifdcodec.la libcommon.la $(TEST_LIBS)
tests_unit_ifd_codec_test_ccid_SOURCES = tests/unit/ifd/codec/test_ccid.c
tests_unit_ifd_codec_test_ccid_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_ifd_codec_test_ccid_CFLAGS = $(TEST_CFLAGS)
tests_unit_ifd_codec_test_ccid_LDADD = libtestsupport.la libifdcodec.la libcommon.la $(TEST_LIBS)
tests_unit_ifd_codec_test_t1_block_SOURCES = tests/unit/ifd/codec/test_t1_block.c
tests_unit_ifd_codec_test_t1_block_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_ifd_codec_test_t1_block_CFLAGS = $(TEST_CFLAGS)
tests_unit_ifd_codec_test_t1_block_LDADD = libtestsupport.la libifdcodec.la libcommon.la $(TEST_LIBS)
tests_unit_ifd_test_t1_SOURCES = tests/unit/ifd/test_t1.c
tests_unit_ifd_test_t1_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_ifd_test_t1_CFLAGS = $(TEST_CFLAGS)
tests_unit_ifd_test_t1_LDADD = libtestsupport.la libccidsim.la libifd.la libifdcodec.la libcommon.la $(TEST_LIBS)
tests_unit_ifd_test_usb_name_SOURCES = tests/unit/ifd/test_usb_name.c
tests_unit_ifd_test_usb_name_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_ifd_test_usb_name_CFLAGS = $(TEST_CFLAGS)
tests_unit_ifd_test_usb_name_LDADD = libifd.la libifdcodec.la libcommon.la $(TEST_LIBS)
tests_unit_ifd_test_slot_SOURCES = tests/unit/ifd/test_slot.c
tests_unit_ifd_test_slot_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_ifd_test_slot_CFLAGS = $(TEST_CFLAGS)
tests_unit_ifd_test_slot_LDADD = libifd.la libifdcodec.la libtestsupport.la libcommon.la $(TEST_LIBS)

## vcard-daemon/
tests_unit_vcard_daemon_test_vpcd_SOURCES = tests/unit/vcard-daemon/test_vpcd.c
tests_unit_vcard_daemon_test_vpcd_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_daemon_test_vpcd_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_daemon_test_vpcd_LDADD = libvcardfront.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
## Runs the built ecard-vcard, and powers the images it makes.
tests_unit_vcard_daemon_test_vscard_SOURCES = tests/unit/vcard-daemon/test_vscard.c
tests_unit_vcard_daemon_test_vscard_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_daemon_test_vscard_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_daemon_test_vscard_LDADD = libtestsupport.la libvcardfront.la libvcard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)

tests_unit_vcard_daemon_test_main_SOURCES = tests/unit/vcard-daemon/test_main.c
tests_unit_vcard_daemon_test_main_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_daemon_test_main_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_daemon_test_main_LDADD = libtestsupport.la libapplets.la libvcard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)

## ccid-sim/
tests_unit_vcard_test_t0_card_SOURCES = tests/unit/vcard/test_t0_card.c
tests_unit_vcard_test_t0_card_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_vcard_test_t0_card_CFLAGS = $(TEST_CFLAGS)
tests_unit_vcard_test_t0_card_LDADD = libvcard.la libcommon.la $(TEST_LIBS)
tests_unit_ccid_sim_test_ccid_sim_SOURCES = tests/unit/ccid-sim/test_ccid_sim.c
tests_unit_ccid_sim_test_ccid_sim_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_ccid_sim_test_ccid_sim_CFLAGS = $(TEST_CFLAGS)
tests_unit_ccid_sim_test_ccid_sim_LDADD = libtestsupport.la libccidsim.la libapplets.la libvcard.la libifd.la libifdcodec.la libcommoncrypto.la libcommon.la $(TEST_LIBS)

## --- bounded fuzz runs in every `make check` (fuzz_engine: the shared engine;
## fuzz_scenario: real traffic from the host clients against an in-process card) ---
FUZZ_ENGINE = tests/fuzz/fuzz_engine.c tests/fuzz/fuzz_engine.h
FUZZ_SCENARIO = tests/fuzz/fuzz_scenario.c tests/fuzz/fuzz_scenario.h
FUZZ_LIBS = libcapgen.la libvcardfront.la libapplets.la libvcard.la libecard.la \
	libcommoncrypto.la libcommon.la $(PCSC_LIBS) $(LIBZIP_LIBS)
## the driver's parsers
tests_fuzz_fuzz_parsers_SOURCES = tests/fuzz/fuzz_parsers.c $(FUZZ_ENGINE)
tests_fuzz_fuzz_parsers_CPPFLAGS = $(TEST_CPPFLAGS)
tests_fuzz_fuzz_parsers_LDADD = libifdcodec.la libcommon.la
## the card's APDU entry point, every applet, secure channels, tearing
tests_fuzz_fuzz_card_SOURCES = tests/fuzz/fuzz_card.c $(FUZZ_ENGINE) $(FUZZ_SCENARIO)
tests_fuzz_fuzz_card_CPPFLAGS = $(TEST_CPPFLAGS)
tests_fuzz_fuzz_card_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(LIBZIP_CFLAGS)
tests_fuzz_fuzz_card_LDADD = $(FUZZ_LIBS)
## the host's CAP and GlobalPlatform parsers, and the card's load file parser
tests_fuzz_fuzz_host_SOURCES = tests/fuzz/fuzz_host.c $(FUZZ_ENGINE) $(FUZZ_SCENARIO)
tests_fuzz_fuzz_host_CPPFLAGS = $(TEST_CPPFLAGS)
tests_fuzz_fuzz_host_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(LIBZIP_CFLAGS)
tests_fuzz_fuzz_host_LDADD = $(FUZZ_LIBS)
FUZZ_BINS = tests/fuzz/fuzz_parsers tests/fuzz/fuzz_card tests/fuzz/fuzz_host
FUZZ_TESTS = tests/fuzz/fuzz.test tests/fuzz/fuzz_card.test tests/fuzz/fuzz_host.test

## --- integration: private pcscd, vpcd, ecard-vcard, the driver and its simulator ---
INTEGRATION_TEST_BINS = tests/integration/test_pcsc tests/integration/test_cli \
	tests/integration/test_gp tests/integration/test_ifd tests/integration/test_ota \
	tests/integration/test_centre tests/integration/test_shop
INTEGRATION_TESTS = tests/integration/pcsc.test tests/integration/cli.test \
	tests/integration/gp.test tests/integration/ifd.test tests/integration/ota.test \
	tests/integration/centre.test tests/integration/shop.test
HARNESS = tests/integration/harness.c tests/integration/harness.h
HARNESS_LIBS = libecard.la libcommoncrypto.la libcommon.la $(TEST_LIBS)
tests_integration_test_pcsc_SOURCES = tests/integration/test_pcsc.c $(HARNESS)
tests_integration_test_pcsc_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_pcsc_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_pcsc_LDADD = libvcard.la $(HARNESS_LIBS)
tests_integration_test_cli_SOURCES = tests/integration/test_cli.c $(HARNESS)
tests_integration_test_cli_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_cli_LDADD = $(HARNESS_LIBS)
tests_integration_test_gp_SOURCES = tests/integration/test_gp.c $(HARNESS)
tests_integration_test_gp_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_gp_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_gp_LDADD = libcapgen.la $(HARNESS_LIBS)
tests_integration_test_ifd_SOURCES = tests/integration/test_ifd.c $(HARNESS)
tests_integration_test_ifd_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_ifd_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_ifd_LDADD = $(HARNESS_LIBS)
tests_integration_test_ota_SOURCES = tests/integration/test_ota.c $(HARNESS)
tests_integration_test_ota_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_ota_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_ota_LDADD = libcapgen.la $(HARNESS_LIBS)
tests_integration_test_centre_SOURCES = tests/integration/test_centre.c $(HARNESS)
tests_integration_test_centre_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_centre_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_centre_LDADD = $(HARNESS_LIBS)
EXTRA_DIST += tests/centre/browser.py
tests_integration_test_shop_SOURCES = tests/integration/test_shop.c $(HARNESS)
tests_integration_test_shop_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_shop_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_shop_LDADD = $(HARNESS_LIBS)
EXTRA_DIST += tests/shop/browser.py tests/shop/demo_checkout.py tests/support/browser_run.py
EXTRA_DIST += tests/integration/in-namespace.sh tests/integration/run.sh $(INTEGRATION_TESTS) \
	$(FUZZ_TESTS)

## --- QEMU: the drivers on QEMU's emulated USB CCID reader, in a guest under
## TCG, with the card served by ecard-vcard --vscard (skipped where QEMU
## cannot run). The guest kernel is fetched once into tests/qemu/cache. ---
QEMU_TESTS = tests/qemu/usb-ccid.test
EXTRA_DIST += tests/qemu/guest-init.sh $(QEMU_TESTS)
distclean-local:
	rm -rf tests/qemu/cache

## --- the layering of the source folders (DESIGN's table), and the manual
## pages against the programs' --help ---
LAYERING_TESTS = tests/layering.test tests/man.test tests/completion.test tests/systemd.test

## --- over the air: ecard-server's SERAM endpoints against a JSON schema
## written from the spec, on loopback ---
OTA_TESTS = tests/ota/protocol.test
EXTRA_DIST += tests/ota/protocol.test tests/ota/protocol.py tests/ota/seram.schema.json \
	tests/ota/validate.py tests/ota/mkcerts.sh

check_PROGRAMS += $(UNIT_TESTS) $(FUZZ_BINS) $(INTEGRATION_TEST_BINS) tests/support/fake-pinentry
tests_support_fake_pinentry_SOURCES = tests/support/fake_pinentry.c
TESTS = $(LAYERING_TESTS) $(UNIT_TESTS) $(OTA_TESTS) $(FUZZ_TESTS) $(INTEGRATION_TESTS) $(QEMU_TESTS)
TEST_EXTENSIONS = .test
TEST_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	PCSCD='$(PCSCD)'; export PCSCD; \
	VPCD_DRIVER='$(VPCD_DRIVER)'; export VPCD_DRIVER;

## The unit tests alone (the sanitizer configuration of CI runs these).
check-unit:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(LAYERING_TESTS) $(UNIT_TESTS) $(FUZZ_TESTS)'

## --- benchmark: `make bench` (not part of `make check`) ---
EXTRA_PROGRAMS += tests/bench/echo_card tests/bench/rtt tests/bench/bench_inproc \
	tests/bench/mkcap tests/bench/bench_ota tests/bench/bench_settle tests/bench/bench_shop
tests_bench_echo_card_SOURCES = tests/bench/echo_card.c
tests_bench_echo_card_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_rtt_SOURCES = tests/bench/rtt.c
tests_bench_rtt_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_rtt_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
tests_bench_rtt_LDADD = $(PCSC_LIBS)
tests_bench_bench_inproc_SOURCES = tests/bench/bench_inproc.c
tests_bench_bench_inproc_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_inproc_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
tests_bench_bench_inproc_LDADD = libvcardfront.la libapplets.la libvcard.la libecard.la \
	libcommoncrypto.la libcommon.la $(PCSC_LIBS)
tests_bench_mkcap_SOURCES = tests/bench/mkcap.c
tests_bench_mkcap_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_mkcap_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(LIBZIP_CFLAGS)
tests_bench_mkcap_LDADD = libcapgen.la libecard.la libcommoncrypto.la libcommon.la \
	$(LIBZIP_LIBS) $(PCSC_LIBS)
BENCH_UTIL = tests/bench/bench_util.c tests/bench/bench_util.h
tests_bench_bench_ota_SOURCES = tests/bench/bench_ota.c $(BENCH_UTIL)
tests_bench_bench_ota_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER) $(INC_NETFAULT)
tests_bench_bench_ota_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(CURL_CFLAGS)
tests_bench_bench_ota_LDADD = libcapgen.la libvcardfront.la libapplets.la libvcard.la \
	libecardserver.la libnetfault.la libecard.la libcommoncrypto.la libcommon.la \
	$(CURL_LIBS) $(LIBZIP_LIBS) $(PCSC_LIBS) -lpthread
tests_bench_bench_settle_SOURCES = tests/bench/bench_settle.c $(BENCH_UTIL)
tests_bench_bench_settle_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER)
tests_bench_bench_settle_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
tests_bench_bench_settle_LDADD = libvcardfront.la libapplets.la libvcard.la libecardserver.la \
	libecard.la libcommoncrypto.la libcommon.la $(PCSC_LIBS) -lpthread
tests_bench_bench_shop_SOURCES = tests/bench/bench_shop.c $(BENCH_UTIL)
tests_bench_bench_shop_CPPFLAGS = $(TEST_CPPFLAGS) $(INC_SERVER) $(INC_SHOP)
tests_bench_bench_shop_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(CURL_CFLAGS)
tests_bench_bench_shop_LDADD = libvcardfront.la libapplets.la libvcard.la libecardshop.la \
	libecardserver.la libecard.la libcommoncrypto.la libcommon.la $(CURL_LIBS) $(PCSC_LIBS) -lpthread
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += tests/bench/run.sh tests/bench/ota.sh tests/bench/shop.sh tests/bench/pg.sh

bench: all $(EXTRA_PROGRAMS)
	top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	PCSCD='$(PCSCD)' VPCD_DRIVER='$(VPCD_DRIVER)' \
	$(SHELL) $(srcdir)/tests/bench/run.sh

.PHONY: bench check-unit
