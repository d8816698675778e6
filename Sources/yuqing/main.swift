print("yuqing")
