from fedostree.cli.main import main

main()
