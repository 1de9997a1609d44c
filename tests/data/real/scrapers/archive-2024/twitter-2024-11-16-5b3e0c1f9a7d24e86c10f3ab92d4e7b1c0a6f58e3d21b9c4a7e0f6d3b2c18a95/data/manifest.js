window.__THAR_CONFIG = {
  "userInfo" : {
    "accountId" : "1371234567890123777",
    "userName" : "marsh_wren",
    "displayName" : "Marsh Wren"
  },
  "archiveInfo" : {
    "sizeBytes" : "48213",
    "generationDate" : "2024-11-16T11:33:22.222Z",
    "isPartialArchive" : false,
    "maxPartSizeBytes" : "53687091200"
  },
  "readmeInfo" : {
    "fileName" : "data/README.txt",
    "directory" : "data/",
    "name" : "README.txt"
  },
  "dataTypes" : {
    "account" : {
      "files" : [ {
        "fileName" : "data/account.js",
        "globalName" : "YTD.account.part0",
        "count" : "1"
      } ]
    },
    "noteTweet" : {
      "files" : [ {
        "fileName" : "data/note-tweet.js",
        "globalName" : "YTD.note_tweet.part0",
        "count" : "4"
      } ]
    },
    "profile" : {
      "mediaDirectory" : "data/profile_media",
      "files" : [ {
        "fileName" : "data/profile.js",
        "globalName" : "YTD.profile.part0",
        "count" : "1"
      } ]
    },
    "profileMedia" : {
      "mediaDirectory" : "data/profile_media"
    },
    "tweetHeaders" : {
      "files" : [ {
        "fileName" : "data/tweet-headers.js",
        "globalName" : "YTD.tweet_headers.part0",
        "count" : "8"
      } ]
    },
    "tweets" : {
      "mediaDirectory" : "data/tweets_media",
      "files" : [ {
        "fileName" : "data/tweets.js",
        "globalName" : "YTD.tweets.part0",
        "count" : "8"
      } ]
    },
    "tweetsMedia" : {
      "mediaDirectory" : "data/tweets_media"
    }
  }
}