// Command testcluster is a multi-call binary that runs a real, minimal
// Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager)
// for integration tests, plus an embedded kubectl.
//
// Every component runs in its own process (the supervisor re-executes this
// binary with a subcommand), so component globals such as pflag/klog flags,
// feature gates and the prometheus legacyregistry never collide.
//
//	testcluster start  [--dir .cluster] [--timeout 3m]   start (or reuse) a cluster
//	testcluster stop   [--dir .cluster]                  kill all components, remove state
//	testcluster status [--dir .cluster]                  exit 0 if healthy
//	testcluster kubectl ...                              embedded kubectl (also via argv[0] == "kubectl")
//	testcluster etcd --data-dir D --client-port P --peer-port Q
//	testcluster kube-apiserver <kube-apiserver flags>
//	testcluster kube-controller-manager <kube-controller-manager flags>
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: testcluster <command> [flags]

commands:
  start                     start a cluster in --dir (reuses a healthy one)
  stop                      stop the cluster in --dir and remove its state
  status                    report whether the cluster in --dir is healthy (exit 0) or not
  kubectl ...               embedded kubectl (k8s.io/kubectl, v1.34)
  etcd ...                  embedded etcd server (internal)
  kube-apiserver ...        kube-apiserver (internal, k8s.io/kubernetes v1.34.4)
  kube-controller-manager . kube-controller-manager (internal)
  version                   print the Kubernetes version compiled in
`)
}

func main() {
	// Multi-call: a symlink named "kubectl" runs kubectl directly.
	base := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	if base == "kubectl" {
		os.Exit(runKubectl(os.Args))
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	sub, rest := os.Args[1], os.Args[2:]
	argv := append([]string{sub}, rest...)
	var code int
	switch sub {
	case "start":
		code = cmdStart(rest)
	case "stop":
		code = cmdStop(rest)
	case "status":
		code = cmdStatus(rest)
	case "kubectl":
		code = runKubectl(argv)
	case "etcd":
		code = runEtcd(rest)
	case "kube-apiserver":
		code = runAPIServer(argv)
	case "kube-controller-manager":
		code = runControllerManager(argv)
	case "version", "--version", "-v":
		fmt.Println(kubeVersion())
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "testcluster: unknown command %q\n", sub)
		usage()
		code = 2
	}
	os.Exit(code)
}
