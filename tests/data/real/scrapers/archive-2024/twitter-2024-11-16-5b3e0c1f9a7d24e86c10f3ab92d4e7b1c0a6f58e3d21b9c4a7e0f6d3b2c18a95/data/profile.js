window.YTD.profile.part0 = [
  {
    "profile" : {
      "description" : {
        "bio" : "Counting birds on the Somerset Levels. Reedbeds, rain and the occasional bittern.",
        "website" : "",
        "location" : "Somerset Levels"
      },
      "avatarMediaUrl" : "https://pbs.twimg.com/profile_images/1371235000000000001/Rw9kQeZt.jpg",
      "headerMediaUrl" : "https://pbs.twimg.com/profile_banners/1371234567890123777/1680000000"
    }
  }
]