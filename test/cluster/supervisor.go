package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Component names double as subcommand names and log file names.
const (
	compEtcd      = "etcd"
	compAPIServer = "kube-apiserver"
	compKCM       = "kube-controller-manager"
)

var components = []string{compEtcd, compAPIServer, compKCM}

// kcmControllers are the only controllers kube-controller-manager runs.
var kcmControllers = []string{
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	// Fills the aggregated ClusterRoles view/edit/admin (and any
	// aggregate-to-* rules of CRDs); without it they have no rules.
	"clusterrole-aggregation-controller",
}

// clusterState is persisted as <dir>/state.json (the "pid file").
type clusterState struct {
	Dir        string         `json:"dir"`
	Binary     string         `json:"binary"`
	Server     string         `json:"server"`
	Kubeconfig string         `json:"kubeconfig"`
	Pids       map[string]int `json:"pids"`
	Ports      map[string]int `json:"ports"`
	StartedAt  time.Time      `json:"startedAt"`
	ReadyAt    *time.Time     `json:"readyAt,omitempty"`
}

type layout struct{ dir string }

func (l layout) path(n string) string    { return filepath.Join(l.dir, n) }
func (l layout) state() string           { return l.path("state.json") }
func (l layout) kubeconfig() string      { return l.path("kubeconfig") }
func (l layout) kcmKubeconfig() string   { return l.path("kube-controller-manager.kubeconfig") }
func (l layout) etcdData() string        { return l.path("etcd-data") }
func (l layout) pki() pki                { return pki{Dir: l.path("pki")} }
func (l layout) logFile(c string) string { return l.path(c + ".log") }
func (l layout) lock() string            { return l.path("lock") }

func parseDirFlags(name string, args []string, extra func(*flag.FlagSet)) (layout, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	dir := fs.String("dir", ".cluster", "cluster state directory (certs, kubeconfig, logs, etcd data)")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return layout{}, err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return layout{}, err
	}
	return layout{dir: filepath.Clean(abs)}, nil
}

// lockDir takes an exclusive flock on <dir>/lock so that concurrent
// start/stop invocations (e.g. parallel jest workers) serialize.
func lockDir(l layout) (*os.File, error) {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(l.lock(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: waiting for another start/stop on %s ...\n", l.dir)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func readState(l layout) (*clusterState, error) {
	b, err := os.ReadFile(l.state())
	if err != nil {
		return nil, err
	}
	var s clusterState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", l.state(), err)
	}
	return &s, nil
}

func writeState(l layout, s *clusterState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := l.state() + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, l.state())
}

// ---------------------------------------------------------------------------
// process helpers

// procArgs returns the argv of pid, or nil if it does not exist or is a zombie
// (containers often run a PID 1 that never reaps orphans).
func procArgs(pid int) []string {
	if pid <= 0 {
		return nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		if st := stat[i+2]; st == 'Z' || st == 'X' {
			return nil
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmdline) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
}

// isComponent reports whether argv is one of our components for cluster dir.
func isComponent(argv []string, l layout) (string, bool) {
	if len(argv) < 2 {
		return "", false
	}
	comp := argv[1]
	known := false
	for _, c := range components {
		if c == comp {
			known = true
		}
	}
	if !known {
		return "", false
	}
	for _, a := range argv[2:] {
		if strings.Contains(a, l.dir+string(filepath.Separator)) {
			return comp, true
		}
	}
	return "", false
}

// findComponents scans /proc for live component processes of this cluster
// dir, whether or not state.json knows about them.
func findComponents(l layout) map[int]string {
	found := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if comp, ok := isComponent(procArgs(pid), l); ok {
			found[pid] = comp
		}
	}
	return found
}

// killAll terminates every component process of the cluster in l (and its
// process group: each component is a session/process-group leader).
func killAll(l layout) []string {
	procs := findComponents(l)
	if len(procs) == 0 {
		return nil
	}
	var killed []string
	for pid, comp := range procs {
		killed = append(killed, fmt.Sprintf("%s(%d)", comp, pid))
		if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	sort.Strings(killed)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(findComponents(l)) == 0 {
			return killed
		}
		time.Sleep(100 * time.Millisecond)
	}
	for pid := range findComponents(l) {
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	time.Sleep(200 * time.Millisecond)
	return killed
}

// removeState deletes everything the cluster wrote, except bin/ (the build
// output of start.sh), the lock file and the *.log files of the last run.
func removeState(l layout) error {
	var errs []error
	for _, p := range []string{l.state(), l.kubeconfig(), l.kcmKubeconfig(), l.etcdData(), l.pki().Dir, l.path("tokens")} {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// freePorts reserves n distinct free loopback TCP ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

type running struct {
	pid    int
	exited chan struct{}
	err    error
}

// spawn starts "<self> <comp> args..." detached: own session and process
// group, stdin /dev/null, stdout+stderr to <dir>/<comp>.log. It survives the
// exit of the start command.
func spawn(l layout, self, comp string, args []string) (*running, error) {
	logf, err := os.OpenFile(l.logFile(comp), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(self, append([]string{comp}, args...)...)
	cmd.Dir = l.dir
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KUBECONFIG=") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", comp, err)
	}
	r := &running{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.exited)
	}()
	return r, nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poll calls check until it returns (true, nil), the context expires or the
// component process exits.
func poll(ctx context.Context, r *running, what string, check func(context.Context) (bool, error)) error {
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := check(cctx)
		cancel()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		var exited <-chan struct{}
		if r != nil {
			exited = r.exited
		}
		select {
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("interrupted while waiting for %s", what)
			}
			if last != nil {
				return fmt.Errorf("timed out waiting for %s (last error: %v)", what, last)
			}
			return fmt.Errorf("timed out waiting for %s", what)
		case <-exited:
			return fmt.Errorf("process exited while waiting for %s: %v", what, r.err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ---------------------------------------------------------------------------
// kubeconfig + clients

func writeKubeconfig(path, server string, p pki, cert, key, user string) error {
	ca, err := os.ReadFile(p.CACert())
	if err != nil {
		return err
	}
	crt, err := os.ReadFile(cert)
	if err != nil {
		return err
	}
	k, err := os.ReadFile(key)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testcluster"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: k}
	cfg.Contexts["testcluster"] = &clientcmdapi.Context{Cluster: "testcluster", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = "testcluster"
	tmp := path + ".tmp"
	if err := clientcmd.WriteToFile(*cfg, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func adminRESTConfig(server string, p pki) *rest.Config {
	return &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   p.CACert(),
			CertFile: p.AdminCert(),
			KeyFile:  p.AdminKey(),
		},
		QPS:       50,
		Burst:     100,
		Timeout:   10 * time.Second,
		UserAgent: "testcluster-supervisor",
	}
}

func readyz(ctx context.Context, cs kubernetes.Interface) (bool, error) {
	b, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return false, fmt.Errorf("%v: %s", err, strings.TrimSpace(string(b)))
	}
	return strings.TrimSpace(string(b)) == "ok", nil
}

// kcmHealthy checks kube-controller-manager's /healthz?verbose and that every
// controller we asked for reports as started and healthy.
func kcmHealthy(ctx context.Context, port int, p pki) (bool, error) {
	tlsCfg, err := rest.TLSConfigFor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: p.CACert()}})
	if err != nil {
		return false, err
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/healthz?verbose", port), nil)
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	body := buf.String()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("healthz %d: %s", resp.StatusCode, strings.TrimSpace(body))
	}
	for _, c := range kcmControllers {
		if !strings.Contains(body, "[+]"+c+" ok") {
			return false, fmt.Errorf("controller %s not reported healthy yet", c)
		}
	}
	return true, nil
}

// probeControllers proves the controllers actually work: the serviceaccount
// controller created "default" SA, ClusterRole "view" got its aggregated
// rules, the garbage collector deletes a dependent
// whose owner is gone, the namespace controller finalizes a deleted namespace.
func probeControllers(ctx context.Context, cs kubernetes.Interface) error {
	// ServiceAccount controller.
	if err := poll(ctx, nil, `ServiceAccount "default" in namespace "default"`, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	}); err != nil {
		return err
	}

	// ClusterRole aggregation controller.
	if err := poll(ctx, nil, "ClusterRole view to be aggregated", func(ctx context.Context) (bool, error) {
		cr, err := cs.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
		return err == nil && len(cr.Rules) > 0, err
	}); err != nil {
		return err
	}

	suffix := rand.String(6)
	errc := make(chan error, 2)

	// Garbage collector.
	go func() {
		cms := cs.CoreV1().ConfigMaps("default")
		owner, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "testcluster-gc-probe-owner-" + suffix}}, metav1.CreateOptions{})
		if err != nil {
			errc <- fmt.Errorf("gc probe: %w", err)
			return
		}
		dep, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: "testcluster-gc-probe-dependent-" + suffix,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
			}},
		}}, metav1.CreateOptions{})
		if err != nil {
			errc <- fmt.Errorf("gc probe: %w", err)
			return
		}
		bg := metav1.DeletePropagationBackground
		if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			errc <- fmt.Errorf("gc probe: %w", err)
			return
		}
		err = poll(ctx, nil, "garbage collector to delete the probe's dependent ConfigMap", func(ctx context.Context) (bool, error) {
			_, err := cms.Get(ctx, dep.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
		if err != nil {
			_ = cms.Delete(context.Background(), dep.Name, metav1.DeleteOptions{})
		}
		errc <- err
	}()

	// Namespace controller.
	go func() {
		nss := cs.CoreV1().Namespaces()
		ns, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "testcluster-ns-probe-" + suffix}}, metav1.CreateOptions{})
		if err != nil {
			errc <- fmt.Errorf("namespace probe: %w", err)
			return
		}
		if err := nss.Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			errc <- fmt.Errorf("namespace probe: %w", err)
			return
		}
		errc <- poll(ctx, nil, "namespace controller to finalize the probe namespace", func(ctx context.Context) (bool, error) {
			_, err := nss.Get(ctx, ns.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
	}()

	return errors.Join(<-errc, <-errc)
}

// healthy reports whether the cluster described by s is fully up.
func healthy(ctx context.Context, l layout, s *clusterState) error {
	live := findComponents(l)
	for _, c := range components {
		pid := s.Pids[c]
		if live[pid] != c {
			return fmt.Errorf("%s (pid %d) is not running", c, pid)
		}
	}
	if _, err := os.Stat(l.kubeconfig()); err != nil {
		return fmt.Errorf("kubeconfig missing: %w", err)
	}
	cs, err := kubernetes.NewForConfig(adminRESTConfig(s.Server, l.pki()))
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ok, err := readyz(cctx, cs); !ok {
		return fmt.Errorf("kube-apiserver /readyz not ok: %v", err)
	}
	if ok, err := kcmHealthy(cctx, s.Ports[compKCM], l.pki()); !ok {
		return fmt.Errorf("kube-controller-manager not healthy: %v", err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// commands

func cmdStart(args []string) int {
	var timeout time.Duration
	var verbosity int
	l, err := parseDirFlags("start", args, func(fs *flag.FlagSet) {
		fs.DurationVar(&timeout, "timeout", 3*time.Minute, "how long to wait for the cluster to become ready")
		fs.IntVar(&verbosity, "v", 0, "klog verbosity (--v) for kube-apiserver and kube-controller-manager")
	})
	if err != nil {
		return 2
	}
	lock, err := lockDir(l)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: lock %s: %v\n", l.lock(), err)
		return 1
	}
	defer lock.Close()

	t0 := time.Now()
	// Keep going (and stay consistent) if whoever reads our output goes away,
	// e.g. `start | head`; abort cleanly on Ctrl-C / SIGTERM / SIGHUP: the
	// components run in their own sessions, so they would not get the signal.
	signal.Ignore(syscall.SIGPIPE)
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(sigCtx, timeout)
	defer cancel()

	// Reuse a healthy cluster; otherwise clean up whatever is left.
	if s, err := readState(l); err == nil {
		if herr := healthy(ctx, l, s); herr == nil {
			fmt.Printf("testcluster: reusing the healthy cluster already running in %s (started %s, pids etcd=%d kube-apiserver=%d kube-controller-manager=%d)\n",
				l.dir, s.StartedAt.Format(time.RFC3339), s.Pids[compEtcd], s.Pids[compAPIServer], s.Pids[compKCM])
			fmt.Printf("  server:     %s\n  kubeconfig: %s\n", s.Server, l.kubeconfig())
			return 0
		} else if sigCtx.Err() != nil {
			fmt.Fprintln(os.Stderr, "testcluster: interrupted")
			return 130
		} else {
			fmt.Printf("testcluster: found stale cluster state in %s (%v); cleaning up\n", l.dir, herr)
		}
	} else if !os.IsNotExist(err) {
		fmt.Printf("testcluster: unreadable state (%v); cleaning up\n", err)
	}
	if killed := killAll(l); len(killed) > 0 {
		fmt.Printf("testcluster: killed leftover processes: %s\n", strings.Join(killed, " "))
	}
	if err := removeState(l); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: cleanup: %v\n", err)
		return 1
	}

	fail := func(comp string, err error) int {
		fmt.Fprintf(os.Stderr, "testcluster: start failed: %v\n", err)
		if comp != "" && sigCtx.Err() == nil {
			fmt.Fprintf(os.Stderr, "---- last lines of %s ----\n%s\n----\n", l.logFile(comp), tail(l.logFile(comp), 40))
		}
		killAll(l)
		_ = removeState(l)
		fmt.Fprintf(os.Stderr, "testcluster: logs kept in %s/*.log\n", l.dir)
		return 1
	}
	step := func(format string, a ...any) {
		fmt.Printf("  [%5.1fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, a...))
	}

	self, err := os.Executable()
	if err != nil {
		return fail("", err)
	}
	if r, err := filepath.EvalSymlinks(self); err == nil {
		self = r
	}
	fmt.Printf("testcluster: starting a new cluster in %s (%s)\n", l.dir, kubeVersion())

	p := l.pki()
	if err := p.generate(); err != nil {
		return fail("", fmt.Errorf("generate certificates: %w", err))
	}
	step("generated CA, serving/client certificates and ServiceAccount signing key in %s", p.Dir)

	ports, err := freePorts(4)
	if err != nil {
		return fail("", err)
	}
	etcdPort, etcdPeerPort, apiPort, kcmPort := ports[0], ports[1], ports[2], ports[3]
	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	st := &clusterState{
		Dir: l.dir, Binary: self, Server: server, Kubeconfig: l.kubeconfig(),
		Pids:      map[string]int{},
		Ports:     map[string]int{compEtcd: etcdPort, "etcd-peer": etcdPeerPort, compAPIServer: apiPort, compKCM: kcmPort},
		StartedAt: time.Now(),
	}

	// etcd
	etcd, err := spawn(l, self, compEtcd, []string{
		"--data-dir=" + l.etcdData(),
		"--client-port=" + strconv.Itoa(etcdPort),
		"--peer-port=" + strconv.Itoa(etcdPeerPort),
	})
	if err != nil {
		return fail(compEtcd, err)
	}
	st.Pids[compEtcd] = etcd.pid
	if err := writeState(l, st); err != nil {
		return fail("", err)
	}
	etcdHealth := fmt.Sprintf("http://127.0.0.1:%d/health", etcdPort)
	if err := poll(ctx, etcd, "etcd /health", func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, etcdHealth, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		var h struct{ Health string }
		_ = json.NewDecoder(resp.Body).Decode(&h)
		return resp.StatusCode == 200 && h.Health == "true", nil
	}); err != nil {
		return fail(compEtcd, err)
	}
	step("etcd ready on 127.0.0.1:%d (pid %d)", etcdPort, etcd.pid)

	// kube-apiserver
	v := "--v=" + strconv.Itoa(verbosity)
	api, err := spawn(l, self, compAPIServer, []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--cert-dir=" + p.Dir,
		"--tls-cert-file=" + p.ServingCert(),
		"--tls-private-key-file=" + p.ServingKey(),
		"--client-ca-file=" + p.CACert(),
		"--requestheader-client-ca-file=" + p.FrontProxyCACert(),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p.FrontProxyCert(),
		"--proxy-client-key-file=" + p.FrontProxyKey(),
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.SAPub(),
		"--service-account-signing-key-file=" + p.SAKey(),
		"--service-cluster-ip-range=10.0.0.0/24",
		// Loopback advertise address: nothing can use the "kubernetes"
		// Service endpoints anyway (no kubelet/pods), so do not reconcile them.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		v,
	})
	if err != nil {
		return fail(compAPIServer, err)
	}
	st.Pids[compAPIServer] = api.pid
	if err := writeState(l, st); err != nil {
		return fail("", err)
	}
	cs, err := kubernetes.NewForConfig(adminRESTConfig(server, p))
	if err != nil {
		return fail("", err)
	}
	if err := poll(ctx, api, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) { return readyz(ctx, cs) }); err != nil {
		return fail(compAPIServer, err)
	}
	step("kube-apiserver ready on %s (pid %d)", server, api.pid)

	// kube-controller-manager
	if err := writeKubeconfig(l.kcmKubeconfig(), server, p, p.KCMCert(), p.KCMKey(), "system:kube-controller-manager"); err != nil {
		return fail("", err)
	}
	kcm, err := spawn(l, self, compKCM, []string{
		"--kubeconfig=" + l.kcmKubeconfig(),
		"--authentication-kubeconfig=" + l.kcmKubeconfig(),
		"--authorization-kubeconfig=" + l.kcmKubeconfig(),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(kcmPort),
		"--tls-cert-file=" + p.KCMServingCert(),
		"--tls-private-key-file=" + p.KCMServingKey(),
		"--controllers=" + strings.Join(kcmControllers, ","),
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p.SAKey(),
		"--root-ca-file=" + p.CACert(),
		"--profiling=false",
		v,
	})
	if err != nil {
		return fail(compKCM, err)
	}
	st.Pids[compKCM] = kcm.pid
	if err := writeState(l, st); err != nil {
		return fail("", err)
	}
	if err := poll(ctx, kcm, "kube-controller-manager /healthz", func(ctx context.Context) (bool, error) { return kcmHealthy(ctx, kcmPort, p) }); err != nil {
		return fail(compKCM, err)
	}
	step("kube-controller-manager healthy on 127.0.0.1:%d (pid %d), controllers: %s", kcmPort, kcm.pid, strings.Join(kcmControllers, ","))

	if err := probeControllers(ctx, cs); err != nil {
		return fail(compKCM, err)
	}
	step("probes passed: default ServiceAccount created, ClusterRole view aggregated, garbage collector deleted an orphaned dependent, namespace controller finalized a namespace")

	if err := writeKubeconfig(l.kubeconfig(), server, p, p.AdminCert(), p.AdminKey(), "testcluster-admin"); err != nil {
		return fail("", err)
	}
	now := time.Now()
	st.ReadyAt = &now
	if err := writeState(l, st); err != nil {
		return fail("", err)
	}
	fmt.Printf("testcluster: cluster ready in %.1fs\n", time.Since(t0).Seconds())
	fmt.Printf("  server:     %s\n  kubeconfig: %s   (export KUBECONFIG=%s)\n  logs:       %s/{etcd,kube-apiserver,kube-controller-manager}.log\n",
		server, l.kubeconfig(), l.kubeconfig(), l.dir)
	return 0
}

func cmdStop(args []string) int {
	l, err := parseDirFlags("stop", args, nil)
	if err != nil {
		return 2
	}
	if _, err := os.Stat(l.dir); os.IsNotExist(err) {
		fmt.Printf("testcluster: no cluster in %s\n", l.dir)
		return 0
	}
	lock, err := lockDir(l)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: lock %s: %v\n", l.lock(), err)
		return 1
	}
	defer lock.Close()
	killed := killAll(l)
	if err := removeState(l); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: remove state: %v\n", err)
		return 1
	}
	if len(killed) == 0 {
		fmt.Printf("testcluster: no running components in %s; state removed\n", l.dir)
	} else {
		fmt.Printf("testcluster: stopped %s; state removed from %s (logs kept)\n", strings.Join(killed, " "), l.dir)
	}
	return 0
}

func cmdStatus(args []string) int {
	l, err := parseDirFlags("status", args, nil)
	if err != nil {
		return 2
	}
	s, err := readState(l)
	if err != nil {
		live := findComponents(l)
		if len(live) > 0 {
			fmt.Printf("testcluster: no state in %s but %d component process(es) are running (run stop)\n", l.dir, len(live))
			return 1
		}
		fmt.Printf("testcluster: not running (%s)\n", l.dir)
		return 3
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.ReadyAt == nil {
		fmt.Printf("testcluster: starting or failed start in %s (no readyAt in state)\n", l.dir)
		return 1
	}
	if err := healthy(ctx, l, s); err != nil {
		fmt.Printf("testcluster: unhealthy cluster in %s: %v\n", l.dir, err)
		return 1
	}
	fmt.Printf("testcluster: healthy (started %s)\n  server:     %s\n  kubeconfig: %s\n  pids:       etcd=%d kube-apiserver=%d kube-controller-manager=%d\n",
		s.StartedAt.Format(time.RFC3339), s.Server, l.kubeconfig(), s.Pids[compEtcd], s.Pids[compAPIServer], s.Pids[compKCM])
	return 0
}
