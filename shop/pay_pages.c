/*
 * pay_pages.c - the pages' side of paying from the card and filling a
 * form from it (pay.h): the order page's button, the call that opens a
 * payment session, and the script that talks to the holder's agent.
 *
 * The script only hands the agent a session id and the shop's own URL;
 * the PIN is asked by the agent, through the holder's pinentry, and goes
 * to the card only. The agent checks the page's origin itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amount.h"
#include "pay.h"
#include "shop.h"

const char pay_script[] =
	"'use strict';\n"
	"(function () {\n"
	"  var me = document.getElementById('shop-js');\n"
	"  var agent = me ? me.dataset.agent : '';\n"
	"  function say(el, text, ok) { el.textContent = text; el.className = ok ? 'ok' : 'error'; }\n"
	"  function agentCall(path, body) {\n"
	"    return fetch(agent + path, {method: 'POST', headers: {'Content-Type': 'application/json'},\n"
	"      body: JSON.stringify(body)}).then(function (r) {\n"
	"        return r.json().catch(function () { return {}; }).then(function (j) {\n"
	"          if (!r.ok) throw new Error(j.error || ('the card agent answered ' + r.status));\n"
	"          return j;\n"
	"        });\n"
	"      }, function () { throw new Error('no card agent answers at ' + agent); });\n"
	"  }\n"
	"  var pay = document.getElementById('pay');\n"
	"  var button = document.getElementById('pay-button');\n"
	"  if (pay && button && agent) {\n"
	"    var out = document.getElementById('pay-status');\n"
	"    var order = pay.dataset.order;\n"
	"    button.hidden = false;\n"
	"    button.addEventListener('click', function () {\n"
	"      button.disabled = true;\n"
	"      say(out, 'Your card agent asks for your PIN...', true);\n"
	"      fetch('/api/orders/' + order + '/pay', {method: 'POST', credentials: 'same-origin',\n"
	"        headers: {'Content-Type': 'application/x-www-form-urlencoded'},\n"
	"        body: 'csrf=' + encodeURIComponent(pay.dataset.csrf)})\n"
	"      .then(function (r) {\n"
	"        return r.json().then(function (j) { if (!r.ok) throw new Error(j.error); return j; });\n"
	"      })\n"
	"      .then(function (s) { return agentCall('/v1/session', {server: s.server, sessionId: s.sessionId}); })\n"
	"      .catch(function (e) { return {error: e.message}; })\n"
	"      .then(function (a) {\n"
	"        return fetch('/api/orders/' + order, {credentials: 'same-origin'})\n"
	"          .then(function (r) { return r.json(); })\n"
	"          .then(function (o) {\n"
	"            if (o.state === 'paid') { location.reload(); return; }\n"
	"            say(out, 'Not paid: ' + (o.payment || a.error || 'the payment did not go through.'), false);\n"
	"            button.disabled = false;\n"
	"          });\n"
	"      })\n"
	"      .catch(function (e) { say(out, 'Not paid: ' + e.message, false); button.disabled = false; });\n"
	"    });\n"
	"  }\n"
	"  var fill = document.getElementById('fill');\n"
	"  if (fill && agent) {\n"
	"    var note = document.getElementById('fill-status');\n"
	"    fill.hidden = false;\n"
	"    fill.addEventListener('click', function () {\n"
	"      fill.disabled = true;\n"
	"      say(note, 'Your card agent asks whether to give your details to this site...', true);\n"
	"      agentCall('/v1/fill', {fields: ['forename', 'surname', 'street', 'town', 'county', 'postcode', 'email']})\n"
	"      .then(function (j) {\n"
	"        var f = j.fields || {}, set = 0;\n"
	"        function put(id, v) { if (v) { document.getElementById(id).value = v; set++; } }\n"
	"        put('name', [f.forename, f.surname].filter(Boolean).join(' '));\n"
	"        ['street', 'town', 'county', 'postcode', 'email'].forEach(function (k) { put(k, f[k]); });\n"
	"        say(note, set ? 'Filled in from your card.' : 'Your card gave no details.', set > 0);\n"
	"        fill.disabled = false;\n"
	"      })\n"
	"      .catch(function (e) { say(note, 'Not filled in: ' + e.message, false); fill.disabled = false; });\n"
	"    });\n"
	"  }\n"
	"})();\n";

static const struct shop_config *cfg(const struct web_page *p)
{
	return p->site;
}

void pay_section(struct web_page *p, struct sb *b, const struct sale *s)
{
	struct payment last;
	struct ec_error err;
	bool have_last = pay_last(p->st, s->id, &last, &err) == EC_OK;
	char amount[EC_AMOUNT_TEXT_MAX];

	if (strcmp(s->state, SALE_AWAITING) != 0) {
		if (have_last && strcmp(last.state, PAY_PAID) == 0) {
			sb_put(b, "<p class=\"ok\" id=\"paid\">");
			sb_html(b, last.message);
			sb_put(b, "</p>");
		}
		return;
	}
	if (!cfg(p)->pay.merchant || !cfg(p)->agent_url) {
		sb_put(b, "<p id=\"pay\">This shop takes no card payments at the moment.</p>");
		return;
	}
	sb_printf(b, "<div id=\"pay\" data-order=\"%lld\" data-csrf=\"", s->id);
	sb_html(b, p->sess.csrf);
	sb_put(b, "\"><button type=\"button\" id=\"pay-button\" hidden>Pay ");
	sb_html(b, ec_amount_format((uint32_t)s->total, cfg(p)->currency, amount, sizeof(amount)));
	sb_put(b, " with my card</button><noscript>Paying with the card needs JavaScript and your card agent"
		  " (ecard agent --listen).</noscript> <span id=\"pay-status\"");
	if (have_last && strcmp(last.state, PAY_FAILED) == 0 && last.message[0]) {
		sb_put(b, " class=\"error\">Not paid: ");
		sb_html(b, last.message);
	} else {
		sb_put(b, ">");
	}
	sb_put(b, "</span></div>");
}

void pay_start_page(struct web_page *p, long long id)
{
	struct sale s;
	struct payment pay;
	struct ec_error err;

	if (!web_form_ok(p)) {
		web_json(p, 403, json_pack("{s:s}", "error", "this call has expired or did not come from this site"));
		return;
	}
	if (!p->signed_in) {
		web_json(p, 401, json_pack("{s:s}", "error", "log in first"));
		return;
	}
	if (sale_get(p->st, id, &s, NULL, NULL, &err) != EC_OK || s.customer != p->who.id) {
		web_json(p, 404, json_pack("{s:s}", "error", "no such order"));
		return;
	}
	if (!cfg(p)->pay.merchant) {
		web_json(p, 409, json_pack("{s:s}", "error", "this shop takes no card payments"));
		return;
	}
	enum ec_status st = pay_start(p->st, &s, &pay, &err);
	if (st != EC_OK) {
		web_json(p, st == EC_ERR_CHECK ? 409 : 500, json_pack("{s:s}", "error", err.text));
		return;
	}
	/* The shop's own URL, as the browser reached it: the agent accepts
	 * only a server of the page's origin. */
	char server[320];
	snprintf(server, sizeof(server), "%s://%s/gp/seram", cfg(p)->insecure ? "http" : "https",
		 p->rq->host ? p->rq->host : "127.0.0.1");
	web_json(p, 201, json_pack("{s:s,s:s,s:I}", "server", server, "sessionId", pay.session, "payment",
				   (json_int_t)pay.id));
}
