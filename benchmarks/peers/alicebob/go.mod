module benchpeer

go 1.17

require github.com/alicebob/miniredis/v2 v2.38.0
