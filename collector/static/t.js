!function(w,d,n,L,u){try{var
W=f=>function(){try{return f.apply(0,arguments)}catch(x){}},
s=d.currentScript,A=k=>s.getAttribute('data-'+k),H=k=>A(k)!=u,N=Date.now,
on=(t,e,f)=>t.addEventListener(e,W(f),!0),
S=(v,k)=>(''+v).slice(0,k),
st=(o,v)=>{try{o=w[o+'Storage'];return v?o.pa_id=v:v===u?o.pa_id:delete o.pa_id}catch(x){}},
I=()=>'10000000-1000-4000-8000-100000000000'.replace(/[018]/g,c=>(c^crypto.getRandomValues(new Uint8Array(1))[0]&15>>c/4).toString(16)),
api=A('api')||new URL(s.src).origin+'/api/event',
X=(A('exclude')||'').split(',').filter(x=>x).map(x=>RegExp('^'+x.trim().replace(/[^\w\/*-]/g,'\\$&').replace(/\*/g,'.*'))),
off=!/^http/.test(L.protocol)||!H('local')&&/^(localhost|127\.|\[::1)/.test(L.hostname),
Q=[],T,K,P,M=0,Vs=d.hidden?0:N(),Tot=0,Ne=0,VT={},Z,Fa,O={},C={},V=st('local'),
G=n.globalPrivacyControl,D=n.doNotTrack==1,c=A('consent'),
F=W(b=>{clearTimeout(T);T=0;Q[0]&&(b='['+Q+']',Q=[],n.sendBeacon(api,b)||fetch(api,{'method':'POST','body':b,'keepalive':!0,'mode':'no-cors'}).catch(N))}),
E=(t,o)=>{off||X.some(r=>r.test(L.pathname))||(Q.push(JSON.stringify({site:A('site')||L.hostname,type:t,url:S(L.href,2e3),
 referrer:/^http/.test(d.referrer)?S(d.referrer,2e3):u,ts:N(),event_id:I(),consent:{...C},vid:V,sid:V&&(st('session')||st('session',I())),...o}))>99||Q.join().length>2e4?F():T=T||setTimeout(F,1e3))},
hs=h=>/^[a-z\d.-]*(:\d+)?$/i.test(h)?h:u,
mn=v=>Math.min(v,864e5),
sc=()=>{M=Math.max(M,Math.min(100,Math.round((scrollY+innerHeight)/d.documentElement.scrollHeight*100)))||0},
rep=(t,m)=>{sc();t=N();m=Vs&&t-Vs;Vs=Vs&&t;m>0&&(Tot+=m,E('engagement',{url:P,engaged_ms:mn(m),scroll:M}))},
pv=W(k=>{k=L.pathname+(H('hash')?L.hash:'');k!=K&&(K&&rep(),K=k,P=S(L.href,2e3),M=0,E('pageview'))}),
vi=(k,v)=>E('vital',{name:k,value:Math.min(+v.toFixed(k=='CLS'?4:0),36e5)}),
ob=(t,f)=>W(()=>new PerformanceObserver(l=>l.getEntries().map(W(f))).observe({type:t,'buffered':!0,'durationThreshold':16}))(),
tr=(m,p,r,k)=>{if(m){r={};for(k in p)k&&Object.keys(r).length<30&&(r[S(k,64)]=S(p[k],256));E('custom',{name:S(m,100),props:r})}},
err=(m,f)=>m&&Ne++<9&&E('error',{message:S(m,200),source:hs((f||'').split('/')[2])}),
pa=w.pa,q=pa&&pa.q||[],h=history,e=performance.getEntriesByType('navigation')[0];
V?C.analytics=!0:G||D||c!='granted'?c=='denied'&&(C.analytics=!1):(st('local',V=I()),C.analytics=!0);
G&&(C.gpc=!0);D&&(C.dnt=!0);
if(!pa||!pa.track){
pa=w.pa=W((m,...a)=>pa[m](...a));
pa.track=W(tr);
pa.expose=W((x,v)=>x&&E('exposure',{experiment:S(x,100),variant:S(v==u?'':v,100)}));
pa.consent=W((c,p,a)=>{a=c&&c.analytics;if(a===!!a&&a!=C.analytics){a&&st('local',V=I());C.analytics=a;
 E('consent',{action:a?'grant':'withdraw',categories:['analytics'],policy_version:(p=p||A('policy'))?S(p,50):u});
 F();a||(st('local',0),st('session',0),V=u)}});
['pushState','replaceState'].map(k=>{var o=h[k];h[k]=function(){try{return o.apply(this,arguments)}finally{pv()}}});
on(w,'popstate',pv);H('hash')&&on(w,'hashchange',pv);on(w,'scroll',sc);
on(d,'click',e=>{var t=e.target,a=t.closest('a[href]'),g=t.closest('[data-event]'),p={},x,h=d.documentElement,f=v=>v>0?+Math.min(1,v).toFixed(4):0;
 if(g){for(x of g.attributes)x.name.indexOf('data-event-')||(p[x.name.slice(11)]=x.value);tr(g.getAttribute('data-event'),p)}
 a&&/^http/.test(a.protocol)&&((x=a.pathname.match(/\.(pdf|zip|dmg|exe|apk|csv|xlsx?|docx?|pptx?|mp[34])$/i))||a.hasAttribute('download')?
  E('click',{kind:'download',link:hs(a.host),file:x?x[1]:u}):a.host!=L.host&&E('click',{kind:'outbound',link:hs(a.host)}));
 H('heatmap')&&E('click',{kind:'heatmap',x:f(e.pageX/h.scrollWidth),y:f(e.pageY/h.scrollHeight),tag:/^[a-z][a-z\d-]{0,31}$/.test(x=t.tagName.toLowerCase())?x:u})});
on(w,'error',e=>err(e.message,e.filename));
on(w,'unhandledrejection',e=>err((e=e.reason)&&e.message||e));
H('forms')&&['focusin','change','submit'].map(k=>on(d,k,(e,t,f,a,x)=>{t=e.target;f=t.form||t;a=k>'r'?k:k>'d'?'focus':k;
 f.tagName=='FORM'&&(x={form:S(f.getAttribute('id')||f.getAttribute('name')||'',100),field:f!=t&&S(t.name||t.id,100)||u},
 Fa=a>'r'?0:x,O[a+x.form+x.field]||E('form',{...x,action:a},O[a+x.form+x.field]=1))}));
on(d,'visibilitychange',()=>{d.hidden?(rep(),Vs=0,Z||Object.keys(VT).map(k=>vi(k,VT[k])),Z=1,F()):Vs=N()});
on(w,'pagehide',()=>{rep();Fa&&E('form',{...Fa,action:'abandon'});Fa=0;E('session_end',{engaged_ms:mn(Tot),scroll:M});F()});
ob('paint',e=>e.name[6]=='c'&&vi('FCP',e.startTime));
ob('largest-contentful-paint',e=>VT.LCP=e.startTime);
ob('layout-shift',e=>e.hadRecentInput||(VT.CLS=(VT.CLS||0)+e.value));
ob('event',e=>e.interactionId&&(VT.INP=Math.max(VT.INP||0,e.duration)));
e&&vi('TTFB',e.responseStart);pv();q.map(a=>pa(...a))}
}catch(x){}}(window,document,navigator,location)
