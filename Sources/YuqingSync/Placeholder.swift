enum _PlaceholderYuqingSync {}
