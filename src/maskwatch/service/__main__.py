from maskwatch.service.cli import main

main()
