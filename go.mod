module github.com/scalemalnet/scalemalnet

go 1.26
