package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // CronJob time zone support, as in the upstream binaries

	"go.etcd.io/etcd/server/v3/embed"

	_ "k8s.io/client-go/plugin/pkg/client/auth" // kubectl client auth plugins
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go prometheus plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric registration
	"k8s.io/component-base/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func kubeVersion() string {
	v := version.Get()
	return fmt.Sprintf("%s (compiled with %s)", v.GitVersion, v.GoVersion)
}

// runAPIServer is cmd/kube-apiserver/apiserver.go. argv[0] is the program name.
func runAPIServer(argv []string) int {
	os.Args = argv
	return cli.Run(apiserverapp.NewAPIServerCommand())
}

// runControllerManager is cmd/kube-controller-manager/controller-manager.go.
func runControllerManager(argv []string) int {
	os.Args = argv
	return cli.Run(kcmapp.NewControllerManagerCommand())
}

// runKubectl is cmd/kubectl/kubectl.go.
func runKubectl(argv []string) int {
	os.Args = append([]string{"kubectl"}, argv[1:]...)
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
	command := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		kubectlutil.CheckErr(err) // prints and exits non-zero
	}
	return 0
}

// runEtcd runs a single-member embedded etcd on loopback until SIGTERM/SIGINT.
func runEtcd(args []string) int {
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "etcd data directory (required)")
	clientPort := fs.Int("client-port", 0, "loopback client port (required)")
	peerPort := fs.Int("peer-port", 0, "loopback peer port (required)")
	logLevel := fs.String("log-level", "warn", "etcd log level")
	fsync := fs.Bool("fsync", false, "fsync writes (off by default: test data is throwaway)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" || *clientPort == 0 || *peerPort == 0 {
		fmt.Fprintln(os.Stderr, "etcd: --data-dir, --client-port and --peer-port are required")
		return 2
	}
	curl := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", *clientPort)}
	purl := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", *peerPort)}

	cfg := embed.NewConfig()
	cfg.Name = "testcluster"
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = []url.URL{curl}
	cfg.AdvertiseClientUrls = []url.URL{curl}
	cfg.ListenPeerUrls = []url.URL{purl}
	cfg.AdvertisePeerUrls = []url.URL{purl}
	cfg.ListenMetricsUrls = nil
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ClusterState = embed.ClusterStateFlagNew
	cfg.LogLevel = *logLevel
	cfg.LogOutputs = []string{"stderr"}
	// NewConfig leaves this 0, which logs every request as "expensive".
	cfg.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration
	cfg.UnsafeNoFsync = !*fsync
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"
	cfg.QuotaBackendBytes = 2 << 30

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd: start: %v\n", err)
		return 1
	}
	select {
	case <-e.Server.ReadyNotify():
		fmt.Fprintf(os.Stderr, "etcd: ready, serving clients on %s\n", curl.String())
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		fmt.Fprintln(os.Stderr, "etcd: took too long to become ready")
		return 1
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		fmt.Fprintf(os.Stderr, "etcd: got %v, shutting down\n", s)
		e.Close()
		return 0
	case err := <-e.Err():
		fmt.Fprintf(os.Stderr, "etcd: fatal: %v\n", err)
		e.Close()
		return 1
	}
}
