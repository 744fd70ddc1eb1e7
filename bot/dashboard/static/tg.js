// 招商助手 驾驶舱 as a Telegram Mini App. Telegram puts its signed launch data (initData) in the address's
// fragment as tgWebAppData; it is sent once to this server, which checks its signature and sets the same
// cookie a link would, then the overview opens. Nothing else runs and nothing is loaded from elsewhere.
(function () {
  var data = new URLSearchParams(location.hash.slice(1)).get("tgWebAppData");
  history.replaceState(null, "", location.pathname);
  if (!data) {
    location.replace("/dash/");
    return;
  }
  var done = function () { location.replace("/dash/"); };
  fetch("/dash/tg/open", {method: "POST", body: data, credentials: "same-origin",
                          headers: {"Content-Type": "text/plain;charset=UTF-8"}}).then(done, done);
})();
