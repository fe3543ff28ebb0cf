complete --keep-order --exclusive --command tasctl --arguments "(COMPLETE=fish tasctl -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
