## shop/ - ecard-shop, the web shop paid by the card (DESIGN §8: uses
## server, host and common). Its logic is a convenience library so that
## the tests run it in process.
noinst_LTLIBRARIES += libecardshop.la
libecardshop_la_CPPFLAGS = $(INC_COMMON) $(INC_HOST) $(INC_SERVER) $(INC_SHOP)
libecardshop_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS)
libecardshop_la_SOURCES = \
	shop/shop.c shop/shop.h \
	shop/catalogue.c shop/catalogue.h \
	shop/sales.c shop/sales.h \
	shop/pay.c shop/pay.h shop/pay_pages.c \
	shop/pages.c
libecardshop_la_LIBADD = libecardserver.la libecard.la $(JANSSON_LIBS)

bin_PROGRAMS += ecard-shop
ecard_shop_CPPFLAGS = $(INC_COMMON) $(INC_HOST) $(INC_SERVER) $(INC_SHOP)
ecard_shop_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
ecard_shop_SOURCES = shop/main.c
ecard_shop_LDADD = libecardshop.la libecardserver.la libecard.la libcommoncrypto.la libcommon.la \
	$(JANSSON_LIBS) $(CURL_LIBS) -lpthread
