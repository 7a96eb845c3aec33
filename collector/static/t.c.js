let[,F,k,Q]=pa._,w=window,n=navigator,u,W=f=>(...a)=>{try{return f(...a)}catch{}},K=k.consentKey||'analytics',H=Q.h||[],P=[].push,g,O,R=P,
id=W(_=>localStorage.pa_id),X=x=>(delete x.vid,delete x.sid,x.consent.analytics&&delete x.consent.analytics,x),
G=Q.g=(...e)=>{for(let x of e)x.type=='consent'?(O&&Object.assign(x,O),g=x.action<'h'?1:0,P.call(Q,x)):g===u?H.length<80&&H.push(x):P.call(Q,g?x:X(x));g!==u&&H[0]&&G(...H.splice(0));return Q.length},
S=(s,x,l)=>{if(s!==R){R=s;O=x;g=s?1:0;s?pa.consent({analytics:!0}):s===0&&(l||id())&&pa.consent({analytics:!1});O=u;G(...H.splice(0));F()}},
A={
tcf(){return w.__tcfapi&&(__tcfapi('addEventListener',2,W((d,o,a=d.gdprApplies,t=d.eventStatus)=>o&&S(a&&[1,8,9].every(i=>((d.purpose||0).consents||0)[i]||((d.publisher||0).consents||0)[i])?1:a&&t!='cmpuishown'?0:u,
 {source:'tcf',cmp_id:d.cmpId&4095,cmp_version:d.cmpVersion&4095,tcf_policy_version:d.tcfPolicyVersion&63},t=='useractioncomplete'))),1)},
cookieconsent(){let c=w.CookieConsent,r=l=>S(c.validConsent()?c.acceptedCategory(K)?1:0:u,{source:'cookieconsent'},l),on=(e,l)=>addEventListener('cc:'+e,W(_=>r(l)));
 return c&&c.validConsent&&(on('onFirstConsent',1),on('onChange',1),on('onConsent'),r(),1)},
klaro(){let m=w.klaro&&klaro.getManager&&klaro.getManager(w.klaroConfig),r=l=>S(m.confirmed?m.consents[K]?1:0:u,{source:'klaro'},l);
 return m&&(m.watch({'update':W((_,t)=>t=='saveConsents'&&r(1))}),r(),1)},
gcm(){let L=w.dataLayer,p,r=l=>{let s,f,x,v;for(x of L)(v=x&&x[0]=='consent'&&(x[2]||0).analytics_storage)&&(f=1,s=x[1]=='update'?v=='granted'?1:0:v=='granted'&&!x[2].region&&!(n.globalPrivacyControl||n.doNotTrack==1)?1:u);f&&S(s,{source:'gcm'},l);return f};
 return L&&r()&&(p=L.push,L.push=(...a)=>{let z=p.apply(L,a);a.some(x=>x&&x[0]=='consent')&&W(r)(1);return z},1)}},
c=k.consentSource,i=0,T,t=W(_=>{for(let s of c=='auto'?Object.keys(A):[c])if(A[s]&&A[s]())return T=clearInterval(T),1;++i>300&&clearInterval(T)});
t()||(T=setInterval(t,100));
setTimeout(W(_=>R===P&&(g===u&&(g=0),G(...H.splice(0)),F())),+k.consentWait||3e3);
addEventListener('pagehide',W(_=>{g===u&&P.apply(Q,H.splice(0).map(X));F()}));
addEventListener('visibilitychange',W(_=>document.hidden&&g===u&&(P.apply(Q,H.splice(0).map(X)),F())))
