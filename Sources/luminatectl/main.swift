import OpsKit
print("luminatectl")
