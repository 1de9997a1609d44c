window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "marsh.wren@example.org",
      "createdVia" : "web",
      "username" : "marsh_wren",
      "accountId" : "1371234567890123777",
      "createdAt" : "2021-03-14T09:12:44.000Z",
      "accountDisplayName" : "Marsh Wren"
    }
  }
]