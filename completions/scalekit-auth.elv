
set edit:completion:arg-completer[scalekit-auth] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) SCALEKIT_AUTH_COMPLETE="elvish" scalekit-auth -- $@words) | to-lines
}

