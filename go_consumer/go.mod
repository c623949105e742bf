module github.com/polyglot-tf/go_consumer

go 1.24

require github.com/wamuir/graft v0.10.0 // indirect
