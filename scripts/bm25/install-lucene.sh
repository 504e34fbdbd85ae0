#!/usr/bin/env bash
# Installs what bench:bm25's Lucene side needs: Debian's liblucene8-java (Lucene 8.8.1; its jars
# are named 8.7.0) and a JDK, via apt when they are missing. Prints the classpath of the jars on
# success; exits 1 with a one-line reason when they cannot be installed (the bench then reports
# Winnow's figures alone).
set -euo pipefail
jars() { ls /usr/share/java/lucene-core-8*.jar /usr/share/java/lucene-analyzers-common-8*.jar 2>/dev/null | head -2; }
if [ "$(jars | wc -l)" -lt 2 ] || ! command -v javac >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-lucene: no Lucene 8 jars in /usr/share/java and no apt-get to install liblucene8-java" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq liblucene8-java default-jdk-headless; } >&2; then
    echo "install-lucene: apt-get could not install liblucene8-java and default-jdk-headless" >&2
    exit 1
  fi
fi
if [ "$(jars | wc -l)" -lt 2 ]; then
  echo "install-lucene: liblucene8-java is installed but its jars are not in /usr/share/java" >&2
  exit 1
fi
jars | paste -sd: -
